"""`streaming inspect` reports bad fields instead of crashing, and its exit code says so
(issue 14, item 11)."""

from __future__ import annotations

import json
from pathlib import Path

from streaming.cli.main import main
from tests.security.test_cli_verify import edit_index, write


def test_a_string_size_limit_is_a_problem_not_a_traceback(tmp_path, capsys) -> None:
    ds = edit_index(write(tmp_path / "ds"), lambda s: s[1].update(size_limit="64mb"))
    assert main(["inspect", str(ds)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        str(ds),
        "  shards       4 (mds), 1 malformed (left out below)",
        "  samples      3 (1 per shard)",
        "  columns      x: png, y: int (8 B)",
        "  compression  none",
        "  hashes       xxh64",
        "  bytes        844 B (index.json 1.3 KiB)",
        "  size limit   300 B",
        "  problems     1:",
        "    - shard 1: 'size_limit' must be null or a byte count, got '64mb'",
    ]


def test_every_bad_field_is_listed_and_the_exit_code_is_1(tmp_path, capsys) -> None:
    def lie(shards: list[dict]) -> None:
        shards[0]["raw_data"]["hashes"]["md99"] = "ab"
        shards[0]["samples"] = "2"
        shards[2].update(column_encodings=["png", "webp"], column_sizes=[8, None])
        shards[1]["raw_data"]["basename"] = "./index.json"
        shards[3] = ["not", "a", "shard"]

    ds = edit_index(write(tmp_path / "ds"), lie)
    assert main(["inspect", str(ds), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["shards"] == 4 and report["malformed_shards"] == 4
    assert report["problems"] == [
        "shard 0: 'samples' must be an integer from 0 to 2**32 - 1, got '2'",
        "shard 0: raw_data.hashes names an unknown hash algorithm 'md99'",
        "shard 1: raw_data.basename './index.json' names the dataset's own index.json",
        "shard 2: column 'x' records size 8 in column_sizes, but 'png' has no fixed size "
        "(expected null)",
        "shard 2: column 'y' has an unknown encoding 'webp'",
        "shard 3: expected a JSON object, got ['not', 'a', 'shard']",
    ]


def test_notes_alone_exit_0(tmp_path: Path, capsys) -> None:
    ds = write(tmp_path / "ds", columns={"o": "pkl", "y": "int"}, hashes=(),
               rows=lambda i: {"o": [i], "y": i})  # fmt: skip
    assert main(["inspect", str(ds)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-5:] == [
        "  problems     none found",
        "  notes        3:",
        "    - shard 0 (shard.00000.mds) records no hashes: verify can check sizes only",
        "    - shard 1 (shard.00001.mds) records no hashes: verify can check sizes only",
        "    - column 'o' is pkl: reading it runs code (allow_unsafe_types)",
    ]


def test_an_index_the_reader_refuses_is_a_problem(tmp_path, capsys) -> None:
    (tmp_path / "index.json").write_text('{"version": 3, "shards": []}')
    assert main(["inspect", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "  problems     1:",
        "    - index.json: index version is 3: only version 2 is supported",
    ]
