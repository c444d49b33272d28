"""``streaming.base.world``: `World`, where this process sits in the run.

Our `streaming.world.World` with the peer's derived attributes and methods added (``num_workers``,
``worker_of_node``, ``is_leader``, ``to_json()``, ``copy()``...). `World.detect` reads the rank from
``torch.distributed`` or the launcher's environment and never initializes a process group.
"""

from __future__ import annotations

from typing import Any

from streaming.world import World as _World
from streaming.world import worker_info

__all__ = ["World"]


class World(_World):
    """Nodes, ranks and DataLoader workers of the run, and this worker's place in it.

    Args:
        num_nodes: Nodes in the run.
        ranks_per_node: Processes (devices) per node.
        workers_per_rank: DataLoader workers per rank (1 without workers).
        worker: This worker's global index, ``rank * workers_per_rank + worker_of_rank``.
    """

    @property
    def is_multinode(self) -> bool:
        """Whether the run spans more than one node."""
        return self.num_nodes > 1

    @property
    def num_workers(self) -> int:
        """DataLoader workers in the whole run."""
        return self.num_ranks * self.workers_per_rank

    @property
    def workers_per_node(self) -> int:
        """DataLoader workers per node."""
        return self.ranks_per_node * self.workers_per_rank

    @property
    def worker_of_node(self) -> int:
        """This worker's index among its node's workers."""
        return self.worker % self.workers_per_node

    @property
    def is_leader(self) -> bool:
        """Whether this is the run's first worker."""
        return self.worker == 0

    @property
    def is_local_leader(self) -> bool:
        """Whether this is its node's first worker."""
        return self.worker_of_node == 0

    def to_json(self) -> dict[str, Any]:
        """Every attribute, as the peer's ``World.to_json`` lists them."""
        names = (
            "node", "num_nodes", "is_multinode", "rank", "num_ranks", "rank_of_node",
            "ranks_per_node", "worker", "num_workers", "worker_of_node", "workers_per_node",
            "worker_of_rank", "workers_per_rank", "is_leader", "is_local_leader",
        )  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def copy(self) -> World:
        """An equal `World` (a World is immutable; kept for the peer's callers)."""
        return World(self.num_nodes, self.ranks_per_node, self.workers_per_rank, self.worker)

    def replicate(self, replication: int | None) -> World:
        """The world as the samples see it when `replication` consecutive ranks share them."""
        base = super().replicate(replication)
        return World(base.num_nodes, base.ranks_per_node, base.workers_per_rank, base.worker)

    def detect_workers(self) -> World:
        """This world with the DataLoader worker of the calling process."""
        worker_of_rank, workers_per_rank = worker_info()
        return World(
            self.num_nodes,
            self.ranks_per_node,
            workers_per_rank,
            self.rank * workers_per_rank + worker_of_rank,
        )
