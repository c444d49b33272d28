"""``streaming.base.distributed``: rank and world size, and collectives that are no-ops without
an initialized process group (the peer's helpers).

Rank and world size come from an initialized ``torch.distributed`` group, else from the
launcher's standard variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``),
as `streaming.world.World.detect` reads them.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

__all__ = [
    "all_gather",
    "all_gather_object",
    "barrier",
    "broadcast",
    "get_local_rank",
    "get_local_world_size",
    "get_rank",
    "get_world_size",
    "maybe_init_dist",
]

TObj = TypeVar("TObj")


def _dist() -> Any:
    """``torch.distributed`` if a process group is initialized, else None."""
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def _env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"Environment variable {name}={value!r} is not an integer") from None


def get_rank() -> int:
    """This process's rank, in ``[0, world size)``."""
    dist = _dist()
    return dist.get_rank() if dist is not None else _env("RANK", 0)


def get_world_size() -> int:
    """Processes in the run."""
    dist = _dist()
    return dist.get_world_size() if dist is not None else _env("WORLD_SIZE", 1)


def get_local_rank() -> int:
    """This process's rank on its node (``LOCAL_RANK``, else rank modulo ranks per node)."""
    return _env("LOCAL_RANK", get_rank() % get_local_world_size())


def get_local_world_size() -> int:
    """Processes per node (``LOCAL_WORLD_SIZE``; without it, 1 outside a process group and
    the whole world inside one, as `streaming.world.World.detect` assumes)."""
    return _env("LOCAL_WORLD_SIZE", get_world_size() if _dist() is not None else 1)


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    dist = _dist()
    if dist is not None:
        dist.barrier()


def broadcast(tensor: Any, src: int) -> None:
    """Broadcast `tensor` from rank `src` in place (no-op without a process group)."""
    dist = _dist()
    if dist is not None:
        dist.broadcast(tensor, src)


def all_gather(tensor_list: list[Any], tensor: Any) -> None:
    """Gather every rank's `tensor` into `tensor_list` (no-op without a process group)."""
    dist = _dist()
    if dist is not None:
        dist.all_gather(tensor_list, tensor)


def all_gather_object(obj: TObj) -> list[TObj]:
    """Every rank's `obj`, by rank: ``[obj]`` in a run of one process.

    Raises:
        RuntimeError: ``WORLD_SIZE`` > 1 but no process group is initialized.
    """
    dist = _dist()
    if dist is not None:
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, obj)
        return gathered
    world_size = get_world_size()
    if world_size == 1:
        return [obj]
    raise RuntimeError(
        f"all_gather_object: WORLD_SIZE is {world_size} but torch.distributed has no initialized "
        "process group; call torch.distributed.init_process_group first"
    )


def maybe_init_dist() -> bool:
    """Start a ``gloo`` process group if ``WORLD_SIZE`` > 1 and none is running.

    Returns whether this call started it (the caller then destroys it). Unlike the peer, it
    never picks ``nccl``: a CPU group cannot allocate on GPU 0 from every rank. Nothing in this
    library needs a process group; this exists for the peer's callers.
    """
    import torch.distributed as dist

    if get_world_size() == 1 or not dist.is_available() or dist.is_initialized():
        return False
    dist.init_process_group(backend="gloo", rank=get_rank(), world_size=get_world_size())
    return True
