"""What a dataset converter is: a plan of parts, and a reader of each part's raw records.

A converter knows one raw layout. `plan` looks at the raw directory (listing files, reading
small metadata) and cuts each split into `Part`s: a raw file, or a run of images. `read_part`
runs in a worker process and yields the samples of one part as ``{column: value}`` dicts.
The runner (`streaming.datasets.convert.run`) writes each part as its own MDS directory, in
parallel, and merges their indexes; a part whose directory is complete is not converted again.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar


class RawDataError(ValueError):
    """The raw dataset is not in the layout the converter reads; the message names the file."""


class ConversionError(RuntimeError):
    """A conversion cannot go on: a part failed, or the output holds something else."""


class ConversionInterrupted(KeyboardInterrupt):
    """Ctrl-C during a conversion; the message says which parts are done and how to go on."""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: payloads are lists
class Part:
    """One unit of conversion work: it becomes the directory ``<split>/part-<index>``.

    Args:
        split: the output split (``train``, ``val``...).
        index: the part's position within its split; parts are merged in this order.
        source: what it reads, for messages (a file name, or ``"images 0-9999"``).
        payload: picklable arguments for `Converter.read_part` (paths, annotations...).
        samples: how many samples it will write, if known before reading (for progress).
    """

    split: str
    index: int
    source: str
    payload: Any
    samples: int | None = None

    @property
    def name(self) -> str:
        """The part's directory name inside its split."""
        return f"part-{self.index:05}"


class Converter:
    """Base class of the dataset converters. Subclasses set the class attributes and implement
    `plan` and `read_part`; instances must pickle (they travel to worker processes).

    Args:
        part_size: samples per part, for datasets whose parts are runs of samples rather than
            raw files. More parts mean finer resumption and more parallelism, but each part
            ends with a partial shard.
    """

    #: The name users type: ``streaming convert <name>``.
    name: ClassVar[str] = ""
    #: One line for ``streaming convert --help``.
    summary: ClassVar[str] = ""
    #: The raw layout this converter reads, for ``streaming convert <name> --help``.
    layout: ClassVar[str] = ""
    #: Defaults of the writer settings, chosen for the data (no compression for JPEGs).
    default_compression: ClassVar[str | None] = None
    default_size_limit: ClassVar[str] = "64mb"

    def __init__(self, part_size: int = 10_000) -> None:
        if part_size < 1:
            raise ValueError(f"part_size must be at least 1, got {part_size}")
        self.part_size = part_size

    @property
    def columns(self) -> dict[str, str]:
        """The MDS columns and encodings the converter writes."""
        raise NotImplementedError

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add this dataset's own command-line options (each maps to an `__init__` argument)."""

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        """The `__init__` keyword arguments from parsed command-line options."""
        return {"part_size": args.part_size}

    def plan(self, raw: str, splits: list[str] | None = None) -> list[Part]:
        """Cut the raw dataset at `raw` into parts, for `splits` (None: every split present).

        Raises:
            RawDataError: `raw` is not in this dataset's layout (the message names what is
                missing or malformed).
        """
        raise NotImplementedError

    def read_part(self, part: Part) -> Iterator[dict[str, Any] | None]:
        """Yield the samples of `part`; ``None`` for a raw record skipped on purpose (a video
        that was never downloaded), which the summary counts."""
        raise NotImplementedError


def chunk(items: list[Any], size: int) -> list[list[Any]]:
    """`items` cut into consecutive runs of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def want(split: str, splits: list[str] | None) -> bool:
    """Whether `split` was asked for (None asks for all)."""
    return splits is None or split in splits
