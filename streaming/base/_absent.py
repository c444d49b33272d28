"""The peer's modules that have no counterpart here: importing one raises `ImportError`."""

from __future__ import annotations

_SHARED_MEMORY = (
    "This library keeps no shared memory between processes: the node-local shard cache "
    "coordinates through files and locks (streaming.cache), and a dataset's resume state is "
    "the value of StreamingDataset.state_dict() / load_state_dict(), so there is nothing to "
    "create, attach, name or clean."
)


def absent(module: str, instead: str) -> ImportError:
    """The error for importing mosaicml-streaming's `module`, which we do not have.

    Args:
        module: The peer's module path (``streaming.base.shared``).
        instead: What to use here instead.
    """
    return ImportError(
        f"{module} is an internal module of mosaicml-streaming with no counterpart in this "
        f"library (openstreaming). {_SHARED_MEMORY} Instead: {instead}",
        name=module,
    )
