"""`streaming verify` tells the truth about a dataset (issue 14, items 10, 11 and 12)."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from streaming import MDSWriter
from streaming.cli.main import main
from tests.datasets.conftest import fake_store  # noqa: F401  (the fake:// object store)


def png(i: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), i * 40, np.uint8)).save(out, "PNG")
    return out.getvalue()


def broken_png(i: int) -> bytes:
    """A PNG whose header opens but whose pixel data does not decode."""
    data = bytearray(png(i))
    data[data.index(b"IDAT") + 8] ^= 0xFF
    return bytes(data)


def write(
    out: Path,
    rows: Callable[[int], dict[str, Any]] | None = None,
    columns: dict[str, str] | None = None,
    hashes: tuple[str, ...] = ("xxh64",),
    compression: str | None = None,
) -> Path:
    """4 samples, 1 per shard (2 per shard for pkl), with an xxh64 hash by default."""
    columns = columns or {"x": "png", "y": "int"}
    with MDSWriter(out=str(out), columns=columns, hashes=list(hashes), size_limit=300,
                   compression=compression) as writer:  # fmt: skip
        for i in range(4):
            writer.write(rows(i) if rows else {"x": png(i), "y": i})
    return out


def edit_index(ds: Path, change: Callable[[list[dict[str, Any]]], Any]) -> Path:
    path = ds / "index.json"
    obj = json.loads(path.read_text())
    change(obj["shards"])
    path.write_text(json.dumps(obj))
    return ds


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("verify") / "ds")


def verify(ds: Path | str, *flags: str) -> int:
    return main(["verify", str(ds), "--no-progress", *flags])


def bad(ds: Path, change: Callable[[list[dict[str, Any]]], Any], tmp_path: Path) -> Path:
    return edit_index(Path(shutil.copytree(ds, tmp_path / "bad")), change)


def test_clean_dataset_is_ok(clean, capsys) -> None:
    assert verify(clean, "--samples") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {clean}: 4 shards",
        f"{clean}: 4 of 4 shards OK, 0 bad",
    ]


# Item 10: structural lies that verify without --samples used to call OK.


def test_more_samples_in_the_index_than_in_the_shard_header(clean, tmp_path, capsys) -> None:
    ds = bad(clean, lambda shards: shards[1].update(samples=2), tmp_path)
    assert verify(ds) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {ds}: 4 shards",
        "  BAD shard 1: Shard header says 1 samples, but index.json says 2 "
        f"(file '{ds}/shard.00001.mds', shard 1)",
        f"{ds}: 3 of 4 shards OK, 1 bad",
    ]


def test_every_lie_of_every_shard_is_listed(clean, tmp_path, capsys) -> None:
    def lie(shards: list[dict[str, Any]]) -> None:
        shards[0].update(samples=2**32 - 1)
        shards[1].update(column_encodings=["webp", "int"], column_sizes=[None, 4])
        shards[2].update(column_names=["x", "x"])
        shards[3]["raw_data"]["bytes"] = 2**32

    ds = bad(clean, lie, tmp_path)
    assert verify(ds) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {ds}: 4 shards",
        "  BAD shard 0: raw_data.bytes is 276, too small for the header of 4,294,967,295 "
        "samples (17,179,869,188 bytes)",
        "  BAD shard 1: column 'x' has an unknown encoding 'webp'",
        "  BAD shard 1: column 'y' records size 4 in column_sizes, but 'int' is 8 bytes",
        "  BAD shard 2: column 'x' is named 2 times",
        "  BAD shard 3: raw_data.bytes is 4,294,967,296: more than a shard file can hold (its "
        "offsets are uint32, so at most 4,294,967,295 bytes)",
        f"{ds}: 0 of 4 shards OK, 4 bad",
    ]


def test_samples_decodes_images_to_their_pixels(tmp_path, capsys) -> None:
    ds = write(tmp_path / "ds", rows=lambda i: {"x": broken_png(i) if i == 2 else png(i), "y": i})
    assert verify(ds) == 0  # the files and their structure are sound
    capsys.readouterr()
    assert verify(ds, "--samples") == 1
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {ds}: 4 shards",
        f"  BAD shard 2: Image does not decode (column 'x', file '{ds}/shard.00002.mds', "
        "shard 2, sample 0): OSError: broken data stream when reading image file",
        f"{ds}: 3 of 4 shards OK, 1 bad",
    ]


def test_pkl_shards_are_not_called_ok_unless_decoded(tmp_path, capsys) -> None:
    ds = write(tmp_path / "ds", columns={"o": "pkl", "y": "int"},
               rows=lambda i: {"o": {"a": i}, "y": i})  # fmt: skip
    assert verify(ds, "--samples") == 1
    note = ("column 'o' is pkl, and decoding pkl runs code from the file; pass "
            "--allow-unsafe-types to decode it if you trust this dataset")  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {ds}: 2 shards",
        f"  NOT DECODED shard 0: shard.00000.mds: {note}",
        f"  NOT DECODED shard 1: shard.00001.mds: {note}",
        f"{ds}: 0 of 2 shards OK, 0 bad, 2 not decoded",
    ]
    assert verify(ds, "--samples", "--allow-unsafe-types") == 0
    assert f"{ds}: 2 of 2 shards OK, 0 bad" in capsys.readouterr().out


# Item 11: one bad field no longer ends the whole report.


def test_unknown_hash_names_are_reported_and_the_rest_is_checked(clean, tmp_path, capsys) -> None:
    def lie(shards: list[dict[str, Any]]) -> None:
        shards[0]["raw_data"]["hashes"]["md99"] = "ab"
        shards[2]["hashes"] = ["xxh64", "md99"]

    ds = bad(clean, lie, tmp_path)
    (ds / "shard.00003.mds").unlink()
    assert verify(ds) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {ds}: 4 shards",
        "  BAD shard 0: raw_data.hashes names an unknown hash algorithm 'md99'",
        "  BAD shard 2: 'hashes' names an unknown hash algorithm 'md99'",
        "  BAD shard 3: shard.00003.mds: missing",
        f"{ds}: 1 of 4 shards OK, 3 bad",
    ]


def test_an_index_the_reader_refuses_is_reported_not_raised(tmp_path, capsys) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.json").write_text('{"version": 2, "shards": [')
    ds = write(tmp_path / "b")
    assert main(["verify", str(tmp_path), "--no-progress"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        f"Checking {tmp_path}/a: 0 shards",
        f"  BAD {tmp_path}/a/index.json: not valid JSON (Expecting value: line 1 column 27 "
        "(char 26))",
        f"{tmp_path}/a: 0 of 0 shards OK, 0 bad; index.json has 1 problem",
    ]
    assert out[3:] == [f"Checking {ds}: 4 shards", f"{ds}: 4 of 4 shards OK, 0 bad"]


# Item 12: the facts in the messages are right.


def test_a_shard_failing_its_size_check_is_not_called_unhashed(clean, tmp_path, capsys) -> None:
    ds = Path(shutil.copytree(clean, tmp_path / "ds"))
    shard = ds / "shard.00001.mds"
    shard.write_bytes(shard.read_bytes()[:-3])
    assert verify(ds) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"Checking {ds}: 4 shards",
        "  BAD shard 1: shard.00001.mds: 281 bytes, index.json records 284",
        f"{ds}: 3 of 4 shards OK, 1 bad",
    ]
    plain = write(tmp_path / "plain", hashes=())
    assert verify(plain) == 0
    assert "  note: 4 of them record no hashes; only their sizes were checked" in (
        capsys.readouterr().out.splitlines()
    )


def test_messages_name_the_remote_url_not_a_temporary_copy(
    tmp_path, fake_store, capsys  # noqa: F811
) -> None:
    ds = write(tmp_path / "ds", compression="zstd",
               rows=lambda i: {"x": broken_png(i) if i == 1 else png(i), "y": i})  # fmt: skip
    edit_index(ds, lambda shards: shards[3].update(samples=3))
    shutil.copytree(ds, fake_store / "bucket" / "ds")
    assert main(["verify", "fake://bucket/ds", "--no-progress", "--samples"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "Checking fake://bucket/ds: 4 shards",
        "  BAD shard 1: Image does not decode (column 'x', file "
        "'fake://bucket/ds/shard.00001.mds', shard 1, sample 0): OSError: broken data stream "
        "when reading image file",
        "  BAD shard 3: Shard header says 1 samples, but index.json says 3 "
        "(file 'fake://bucket/ds/shard.00003.mds', shard 3)",
        "fake://bucket/ds: 2 of 4 shards OK, 2 bad",
    ]
