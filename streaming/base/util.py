"""``streaming.base.util``: the peer's helpers, over this library's own functions.

`clean_stale_shared_memory` is a no-op: this library keeps no shared memory, so nothing can be
left behind (llm-foundry and others call it at start-up; it imports and returns cleanly).
"""

from __future__ import annotations

import functools
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from streaming.format import sizes as _sizes
from streaming.format.merge import merge_index

__all__ = [
    "get_list_arg",
    "wait_for_file_to_exist",
    "bytes_to_int",
    "number_abbrev_to_int",
    "clean_stale_shared_memory",
    "get_import_exception_message",
    "merge_index",
    "retry",
]

logger = logging.getLogger(__name__)

TCallable = TypeVar("TCallable", bound=Callable)


def get_list_arg(text: str) -> list[str]:
    """Split a comma-separated command-line value: ``"a,b"`` -> ``["a", "b"]``, ``""`` -> ``[]``."""
    return text.split(",") if text else []


def wait_for_file_to_exist(
    filename: str, poll_interval: float, timeout: float, err_msg: str
) -> None:
    """Poll every `poll_interval` seconds until `filename` exists.

    Raises:
        RuntimeError: `filename` did not appear within `timeout` seconds; the message is
            `err_msg` followed by the timeout and the time waited.
    """
    start = time.monotonic()
    while not os.path.exists(filename):
        waited = time.monotonic() - start
        if waited > timeout:
            raise RuntimeError(f"{err_msg}{timeout:.3f} < {waited:.3f} secs.")
        time.sleep(poll_interval)


def bytes_to_int(bytes_str: int | float | str) -> int:
    """``"64mb"`` -> 64 * 1024**2, ``"1kb"`` -> 1024, an int as is (see
    `streaming.format.sizes.bytes_to_int`); a bad value raises `ValueError` naming it."""
    return _sizes.bytes_to_int(bytes_str)


def number_abbrev_to_int(abbrev_str: int | float | str) -> int:
    """``"10k"`` -> 10_000, ``"2b"`` -> 2_000_000_000, an int as is (see
    `streaming.format.sizes.number_abbrev_to_int`); a bad value raises `ValueError`."""
    return _sizes.number_abbrev_to_int(abbrev_str)


def clean_stale_shared_memory() -> None:
    """Do nothing: this library keeps no shared memory, so there is none left to clean.

    mosaicml-streaming needed this after a crash left its ``/dev/shm`` segments behind; here the
    node-local cache coordinates through files and locks that a crashed process cannot leave
    held, so old call sites keep working and have nothing to do.
    """
    logger.debug("clean_stale_shared_memory: nothing to clean (no shared memory is used)")


def get_import_exception_message(package_name: str, extra_deps: str) -> str:
    """The message for a missing optional dependency: which extra to install."""
    return (
        f"Streaming was installed without {package_name} support. To use {package_name} with "
        f"it, run `pip install 'openstreaming[{extra_deps}]'`."
    )


def retry(
    exc_class: Any = Exception,
    clean_up_fn: Callable[[], None] | None = None,
    num_attempts: int = 3,
    initial_backoff: float = 1.0,
    max_jitter: float = 0.5,
) -> Any:
    """Decorator: call the function again when it raises `exc_class`, with backoff.

    Use as ``@retry``, or ``@retry(OSError, num_attempts=5)``. Attempt ``i`` (0-based) that
    fails waits ``initial_backoff * 2**i + random() * max_jitter`` seconds, after calling
    `clean_up_fn` if given; the last failure propagates.

    Args:
        exc_class: The exception class, or a sequence of them, to retry on.
        clean_up_fn: Called after each failed attempt.
        num_attempts: Total attempts (>= 1).
        initial_backoff: First wait, in seconds.
        max_jitter: Most random seconds added to each wait.
    """
    if callable(exc_class) and not (
        isinstance(exc_class, type) and issubclass(exc_class, BaseException)
    ):
        return retry()(exc_class)  # used bare: @retry
    if num_attempts < 1:
        raise ValueError(f"num_attempts must be at least 1, got {num_attempts}")
    catch = tuple(exc_class) if isinstance(exc_class, Sequence) else exc_class

    def decorate(func: TCallable) -> TCallable:
        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(num_attempts):
                try:
                    return func(*args, **kwargs)
                except catch as err:
                    if clean_up_fn is not None:
                        clean_up_fn()
                    if attempt + 1 == num_attempts:
                        raise
                    delay = initial_backoff * 2**attempt + random.random() * max_jitter
                    logger.debug("Attempt %d/%d failed with %r", attempt + 1, num_attempts, err)
                    time.sleep(delay)
            raise AssertionError("unreachable")

        return call  # type: ignore[return-value]

    return decorate
