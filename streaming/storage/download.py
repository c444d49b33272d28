"""Downloads and uploads with retries: exponential backoff with jitter for transient failures,
an immediate clear error for permanent ones (`PermanentStorageError`)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from streaming.storage.base import PermanentStorageError, StorageError
from streaming.storage.registry import get_backend

__all__ = ["download", "upload", "retry"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: First backoff, and the most any single wait can be, in seconds.
BACKOFF_BASE = 0.1
BACKOFF_MAX = 5.0


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): "full jitter", a uniform draw
    below ``min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt)``."""
    cap = min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt)
    return (rng or random).uniform(0, cap)


def retry(what: str, attempts: int, action: Callable[[], T]) -> T:
    """Run `action` up to `attempts` times; permanent errors and the last failure propagate.

    Args:
        what: What is being done, for messages (``"download of s3://b/x"``).
        attempts: Total attempts (the peer's ``download_retry`` counts the same way), >= 1.
        action: The operation.
    """
    if attempts < 1:
        raise ValueError(f"download_retry must be at least 1 (it counts attempts), got {attempts}")
    for attempt in range(attempts):
        try:
            return action()
        except PermanentStorageError:
            raise
        except Exception as e:
            if attempt + 1 == attempts:
                if isinstance(e, StorageError):
                    raise
                raise StorageError(f"{what} failed after {attempts} attempts: {e!r}") from e
            delay = backoff_delay(attempt)
            logger.debug("%s failed (%r); retrying in %.2f s", what, e, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def download(remote_url: str, local_path: str, attempts: int = 2, timeout: float = 60) -> None:
    """Fetch `remote_url` into `local_path` atomically, retrying transient failures.

    Args:
        remote_url: Any supported URL or local path.
        local_path: Destination; its directory is created.
        attempts: Total attempts (``download_retry``).
        timeout: Bound in seconds on each attempt (``download_timeout``).
    """
    backend = get_backend(remote_url)
    retry(
        f"Download of {remote_url}",
        attempts,
        lambda: backend.download_file(remote_url, local_path, timeout),
    )


def upload(local_path: str, remote_url: str, attempts: int = 3) -> None:
    """Put `local_path` at `remote_url`, retrying transient failures."""
    backend = get_backend(remote_url)
    retry(f"Upload of {local_path} to {remote_url}", attempts,
          lambda: backend.upload_file(local_path, remote_url))
