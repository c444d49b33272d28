"""Where this process sits in the run: node, rank and DataLoader worker.

Rank and world size come from ``torch.distributed`` when a process group is initialized (so
launchers that set no environment variables work, such as Lightning's ``ddp_spawn``), else from
the launcher's environment variables ``RANK`` and ``WORLD_SIZE`` (default: one process). Ranks
per node come from ``LOCAL_WORLD_SIZE``; without it, under an initialized process group, all
ranks are taken to share one node (what ``ddp_spawn`` and ``mp.spawn`` start). DataLoader
workers come from ``torch.utils.data.get_worker_info()``. Nothing is initialised: unlike the
peer, no process group is created (the peer's ``init_process_group`` allocates on GPU 0 from
every rank, issue #716).

A trainer that knows its ranks passes them instead: ``StreamingDataset(..., world=World.of(rank,
num_ranks, ranks_per_node))`` (the Lightning and Composer adapters do), and nothing is read from
the environment. For a dataset class whose constructor cannot pass ``world=`` on (the
mosaicml-signature readers), ``with given_world(world): cls(...)`` does the same: the value is
context-local (per thread and task), never process-global like ``os.environ``.
"""

from __future__ import annotations

import contextlib
import contextvars
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass

from streaming.ordering import Topology


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Environment variable {name}={value!r} is not an integer") from None


@dataclass(frozen=True)
class World:
    """Nodes, ranks per node and workers per rank of the run, and this worker's place in it.

    Attributes:
        num_nodes: Nodes in the run.
        ranks_per_node: Devices (processes) per node.
        workers_per_rank: DataLoader workers per rank (1 without workers).
        worker: This worker's global index: ``rank * workers_per_rank + worker_of_rank``.
    """

    num_nodes: int
    ranks_per_node: int
    workers_per_rank: int
    worker: int

    @classmethod
    def of(cls, rank: int, num_ranks: int, ranks_per_node: int | None = None) -> World:
        """The world of rank `rank` of `num_ranks` ranks, `ranks_per_node` per node (default: all
        on one node), as a trainer knows it (outside any DataLoader worker).

        Raises:
            ValueError: The numbers do not describe a run (named in the message).
        """
        if ranks_per_node is None:
            ranks_per_node = num_ranks
        values = []
        for name, value in (
            ("rank", rank), ("num_ranks", num_ranks), ("ranks_per_node", ranks_per_node)
        ):  # fmt: skip
            try:
                if isinstance(value, bool):
                    raise TypeError
                values.append(operator.index(value))
            except TypeError:
                raise ValueError(f"World.of: `{name}` must be an integer, got {value!r}") from None
        rank, num_ranks, ranks_per_node = values
        if num_ranks < 1 or ranks_per_node < 1 or num_ranks % ranks_per_node:
            raise ValueError(
                f"World.of: num_ranks={num_ranks} must be a positive multiple of "
                f"ranks_per_node={ranks_per_node}: every node must run the same number of ranks"
            )
        if not 0 <= rank < num_ranks:
            raise ValueError(f"World.of: rank={rank} is outside num_ranks={num_ranks}")
        return cls(num_ranks // ranks_per_node, ranks_per_node, 1, rank)

    def rank_world(self) -> World:
        """This world without DataLoader workers: the rank's own (one worker, the rank's index)."""
        return World(self.num_nodes, self.ranks_per_node, 1, self.rank)

    @classmethod
    def detect(cls) -> World:
        """The world of this rank, with this DataLoader worker if called inside one."""
        rank, world_size, ranks_per_node = _ranks()
        if world_size < 1 or ranks_per_node < 1 or world_size % ranks_per_node:
            raise ValueError(
                f"WORLD_SIZE={world_size} must be a positive multiple of "
                f"LOCAL_WORLD_SIZE={ranks_per_node}: every node must run the same number of ranks"
            )
        if not 0 <= rank < world_size:
            raise ValueError(f"RANK={rank} is outside WORLD_SIZE={world_size}")
        worker_of_rank, workers_per_rank = worker_info()
        return cls(
            world_size // ranks_per_node,
            ranks_per_node,
            workers_per_rank,
            rank * workers_per_rank + worker_of_rank,
        )

    def detect_workers(self) -> World:
        """This world with the DataLoader worker of the calling process."""
        worker_of_rank, workers_per_rank = worker_info()
        return World(
            self.num_nodes,
            self.ranks_per_node,
            workers_per_rank,
            self.rank * workers_per_rank + worker_of_rank,
        )

    @property
    def num_ranks(self) -> int:
        return self.num_nodes * self.ranks_per_node

    @property
    def rank(self) -> int:
        return self.worker // self.workers_per_rank

    @property
    def node(self) -> int:
        return self.rank // self.ranks_per_node

    @property
    def rank_of_node(self) -> int:
        return self.rank % self.ranks_per_node

    @property
    def worker_of_rank(self) -> int:
        return self.worker % self.workers_per_rank

    @property
    def topology(self) -> Topology:
        return Topology(self.num_nodes, self.ranks_per_node, self.workers_per_rank)

    def replicate(self, replication: int | None) -> World:
        """The world as the samples see it when ``replication`` consecutive ranks share them
        (the peer's ``World.replicate``)."""
        if replication is None:
            return self
        topology = self.topology.replicate(replication)  # validates, with a clear message
        rank = self.rank // replication
        return World(
            topology.num_nodes,
            topology.ranks_per_node,
            self.workers_per_rank,
            rank * self.workers_per_rank + self.worker_of_rank,
        )


def _ranks() -> tuple[int, int, int]:
    """(rank, world size, ranks per node) of this process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        world_size = dist.get_world_size()
        return dist.get_rank(), world_size, _env_int("LOCAL_WORLD_SIZE", world_size)
    return _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_WORLD_SIZE", 1)


def worker_info() -> tuple[int, int]:
    """(this DataLoader worker's id, workers per rank), or (0, 1) outside a worker."""
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


_GIVEN: contextvars.ContextVar[World | None] = contextvars.ContextVar(
    "streaming_world", default=None
)


@contextlib.contextmanager
def given_world(world: World) -> Iterator[None]:
    """Within the block, a `StreamingDataset` built without ``world=`` takes `world` instead of
    detecting it. For dataset classes whose constructor has no ``world`` parameter; context-local
    (thread- and task-safe), unlike writing ``RANK``/``WORLD_SIZE`` into ``os.environ``."""
    if not isinstance(world, World):
        raise TypeError(f"given_world needs a World, got {type(world).__name__}")
    token = _GIVEN.set(world)
    try:
        yield
    finally:
        _GIVEN.reset(token)


def current_given_world() -> World | None:
    """The world set by an enclosing `given_world` block, if any."""
    return _GIVEN.get()
