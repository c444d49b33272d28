"""Checks on the settings a partition is computed from, and the errors they raise.

Every message names the setting that is wrong, its value, and what would be valid. Where
mosaicml-streaming 0.13.0 fails on the same settings with a different exception type (its code
divides by zero or multiplies by ``None``), ours derives from that type as well, so code written
against the peer still catches it.
"""

from __future__ import annotations

import operator


class EmptyDatasetError(ValueError, ZeroDivisionError):
    """There are no samples to partition (the peer divides by zero here)."""


class BatchSizeError(TypeError):
    """``batch_size`` is not an int (the peer fails multiplying by it)."""


def as_count(name: str, value: object, minimum: int) -> int:
    """``value`` as a Python int, or ValueError if it is not an integer >= ``minimum``."""
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if count < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {count}")
    return count


def check_batch_size(batch_size: object) -> int:
    """The per-device batch size as an int; it decides how samples are dealt to workers."""
    if batch_size is None or isinstance(batch_size, bool):
        raise BatchSizeError(
            f"batch_size must be the per-device batch size (a positive int), got {batch_size!r}: "
            "pass the DataLoader's batch size to the dataset; partitioning depends on it"
        )
    try:
        size = operator.index(batch_size)  # type: ignore[arg-type]
    except TypeError:
        raise BatchSizeError(
            f"batch_size must be a positive int, got {type(batch_size).__name__} {batch_size!r}"
        ) from None
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, got {size}")
    return size


def nodes_divide(num_canonical_nodes: int, num_physical_nodes: int) -> bool:
    """Whether one node count divides the other, so each physical node owns whole canonical ones
    (or each canonical node is split evenly over physical ones)."""
    big = max(num_canonical_nodes, num_physical_nodes)
    small = min(num_canonical_nodes, num_physical_nodes)
    return big % small == 0


def check_nodes_divide(num_canonical_nodes: int, num_physical_nodes: int, setting: str) -> None:
    """ValueError unless canonical and physical node counts divide one another."""
    if nodes_divide(num_canonical_nodes, num_physical_nodes):
        return
    valid = [n for n in range(1, num_canonical_nodes + 1) if num_canonical_nodes % n == 0]
    raise ValueError(
        f"{setting}={num_physical_nodes} and num_canonical_nodes={num_canonical_nodes}: either "
        "must divide the other, otherwise every node would download slices of every shard. "
        f"Valid node counts are {valid} or any multiple of {num_canonical_nodes}; or change "
        "num_canonical_nodes (which changes the sample order)"
        + (
            ", or use partition_algo='relaxed' when resuming on a different node count"
            if setting == "num_physical_nodes"
            else ""
        )
    )
