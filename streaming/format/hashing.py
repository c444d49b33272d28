"""Shard hashes: every hashlib algorithm (but the `shake_` ones) and every xxhash algorithm.

The stored value is ``hexdigest()`` in lowercase, exactly as mosaicml-streaming stores it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

from streaming.format.errors import HashMismatchError


@cache
def _algorithms() -> dict[str, Callable[[bytes], object]]:
    import xxhash

    funcs: dict[str, Callable[[bytes], object]] = {}
    for name in sorted(hashlib.algorithms_available):
        if hasattr(hashlib, name) and not name.startswith("shake_"):
            funcs[name] = getattr(hashlib, name)
    for name in sorted(xxhash.algorithms_available):
        funcs[name] = getattr(xxhash, name)
    return funcs


def get_hashes() -> set[str]:
    """The names of all supported hash algorithms."""
    return set(_algorithms())


def is_hash(algo: str) -> bool:
    """Whether `algo` names a supported hash algorithm."""
    return algo in _algorithms()


def get_hash(algo: str, data: bytes) -> str:
    """The lowercase hex digest of `data` under `algo`."""
    func = _algorithms().get(algo)
    if func is None:
        raise ValueError(
            f"Unknown hash algorithm {algo!r}: expected one of {sorted(_algorithms())}"
        )
    return func(data).hexdigest()  # type: ignore[attr-defined]


def hash_chunks(algo: str, chunks: list[bytes]) -> str:
    """The digest of the concatenation of `chunks`, without concatenating them."""
    func = _algorithms().get(algo)
    if func is None:
        raise ValueError(
            f"Unknown hash algorithm {algo!r}: expected one of {sorted(_algorithms())}"
        )
    state = func()  # type: ignore[call-arg]
    for chunk in chunks:
        state.update(chunk)  # type: ignore[attr-defined]
    return state.hexdigest()  # type: ignore[attr-defined]


def check_hash(algo: str, data: bytes, expected: str, what: str) -> None:
    """Raise `HashMismatchError` naming `what` if `data` does not hash to `expected`."""
    actual = get_hash(algo, data)
    if actual != expected:
        raise HashMismatchError(
            f"Checksum failure: {what} has {algo} {actual}, but index.json records {expected}. "
            "The file is corrupt or stale; delete it so that it is fetched again."
        )
