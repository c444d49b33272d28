"""mosaicml-streaming's reader constructors, for the classes at its import paths.

The peer's readers (``streaming.text``, ``streaming.vision``, ``streaming.multimodal``) take
keyword-only `StreamingDataset` arguments with their own defaults (``partition_algo='orig'``,
``shuffle_algo='py1s'``, ``shuffle_block_size=1 << 18``), which differ from `StreamingDataset`'s.
The classes at those paths take the same arguments, in the same order, with the same defaults
(`inspect.signature` shows the peer's), so the same call gives the same samples in the same order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., None])

_REQUIRED = Parameter.empty

#: The peer's `StreamingDataset` arguments of its readers, in its order, with its defaults.
DATASET_ARGS: tuple[tuple[str, Any], ...] = (
    ("remote", None),
    ("local", None),
    ("split", None),
    ("download_retry", 2),
    ("download_timeout", 60),
    ("validate_hash", None),
    ("keep_zip", False),
    ("epoch_size", None),
    ("predownload", None),
    ("cache_limit", None),
    ("partition_algo", "orig"),
    ("num_canonical_nodes", None),
    ("batch_size", None),
    ("shuffle", False),
    ("shuffle_algo", "py1s"),
    ("shuffle_seed", 9176),
    ("shuffle_block_size", 1 << 18),
)

#: The names above: what each reader hands to `StreamingDataset`.
DATASET_ARG_NAMES = tuple(name for name, _ in DATASET_ARGS)


def required(name: str) -> tuple[str, Any]:
    """A keyword-only argument without a default, for `signature`."""
    return (name, _REQUIRED)


def signature(
    *extra: tuple[str, Any],
    swap_partition_and_cache: bool = False,
    batch_size_required: bool = False,
) -> Signature:
    """The peer's keyword-only constructor signature: `DATASET_ARGS`, then `extra`.

    Args:
        extra: the reader's own ``(name, default)`` pairs (`required` for no default).
        swap_partition_and_cache: ``partition_algo`` before ``cache_limit`` (ADE20K, COCO).
        batch_size_required: ``batch_size`` has no default (the image classification readers).
    """
    args = list(DATASET_ARGS)
    if swap_partition_and_cache:
        cache, partition = args.index(("cache_limit", None)), args.index(("partition_algo", "orig"))
        args[cache], args[partition] = args[partition], args[cache]
    if batch_size_required:
        args[args.index(("batch_size", None))] = required("batch_size")
    params = [Parameter(name, Parameter.KEYWORD_ONLY, default=d) for name, d in (*args, *extra)]
    return Signature(params)


def takes(sig: Signature) -> Callable[[F], F]:
    """Give ``__init__(self, **arguments)`` the signature `sig`.

    A call is bound to `sig` (an unknown, positional or missing argument raises `TypeError`
    naming the class and the argument), defaults are filled in, and ``__init__`` receives every
    argument by name.
    """

    def wrap(init: F) -> F:
        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{type(self).__name__}(): {err}") from None
            bound.apply_defaults()
            init(self, **bound.arguments)

        self_param = Parameter("self", Parameter.POSITIONAL_OR_KEYWORD)
        __init__.__signature__ = Signature([self_param, *sig.parameters.values()])  # type: ignore[attr-defined]
        return __init__  # type: ignore[return-value]

    return wrap


def split_dataset_args(arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(StreamingDataset arguments, the reader's own)`` from a bound call's arguments."""
    base = {k: v for k, v in arguments.items() if k in DATASET_ARG_NAMES}
    own = {k: v for k, v in arguments.items() if k not in DATASET_ARG_NAMES}
    return base, own
