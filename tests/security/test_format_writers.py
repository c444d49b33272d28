"""Writers: a dataset cut short never looks complete, one writer per output, exist_ok replaces
only a dataset, and what a column cannot read back is refused when written (issue 14, items 6, 9,
13, 14, 15)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streaming.format import CSVWriter, JSONWriter, MDSWriter
from streaming.format.errors import EncodingError, IndexFormatError
from streaming.format.output import OutputInUseError
from streaming.local import LocalDataset

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = {"id": "int", "text": "str"}


def _write(out: Path, n: int, **kwargs) -> None:
    with MDSWriter(out=str(out), columns=COLUMNS, size_limit=300, **kwargs) as writer:
        for i in range(n):
            writer.write({"id": i, "text": f"t{i}"})


# -- item 6: an interrupted write leaves no index -----------------------------------------------

_CTRL_C_WRITER = """
import signal, sys, time
from streaming.format import MDSWriter
signal.signal(signal.SIGINT, signal.default_int_handler)
with MDSWriter(out=sys.argv[1], columns={"id": "int"}, size_limit=200) as writer:
    for i in range(10**9):
        writer.write({"id": i})
        if i == 100:
            print("ready", flush=True)
        if i >= 100:
            time.sleep(0.001)
"""


def test_ctrl_c_in_a_writing_process_leaves_no_index(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_WRITER, str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Python ends an uncaught KeyboardInterrupt by dying of SIGINT, after the traceback.
    assert proc.returncode == -signal.SIGINT and "KeyboardInterrupt" in err
    assert not (out / "index.json").exists()  # the peer writes one: a partial dataset
    assert "MDSWriter stopped after " in err and "call writer.finish()" in err
    assert "no index.json was written in" in err
    assert list(out.glob("shard.*.mds"))  # the shards written so far are kept
    assert not Path(f"{out}.lock").exists()
    with pytest.raises(FileNotFoundError, match="No index"):
        LocalDataset(str(out))


@pytest.mark.parametrize("cls", [MDSWriter, JSONWriter, CSVWriter])
def test_exception_in_any_writer_leaves_no_index(tmp_path: Path, cls: type) -> None:
    columns = {"id": "int", "text": "str"}
    with pytest.raises(ZeroDivisionError) as info:
        with cls(out=str(tmp_path / "ds"), columns=columns, size_limit=100) as writer:
            for i in range(20):
                writer.write({"id": i, "text": f"t{i}"})
            1 / 0  # noqa: B018
    assert not (tmp_path / "ds" / "index.json").exists()
    (note,) = info.value.__notes__
    assert note.startswith(f"{cls.__name__} stopped after 20 samples in ")
    writer.finish()  # deliberately
    assert [s["id"] for s in LocalDataset(str(tmp_path / "ds"))] == list(range(20))


# -- item 14: two writers on one out -------------------------------------------------------------


def test_second_writer_on_the_same_out_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    first = MDSWriter(out=str(out), columns=COLUMNS)
    first.write({"id": 1, "text": "a"})
    with pytest.raises(OutputInUseError) as info:
        MDSWriter(out=str(out), columns=COLUMNS, exist_ok=True)
    assert str(info.value) == (
        f"Another writer is writing {str(out)!r} (process {os.getpid()}) (it holds the lock "
        f"{str(out) + '.lock'!r}). Two writers on one output directory overwrite each other's "
        "shards: that writer is in this process: finish() or close() it first (an unfinished "
        "writer holds its output until then, or until it is deleted)."
    )
    first.finish()
    assert not Path(f"{out}.lock").exists()  # released and removed
    assert sorted(os.listdir(out)) == ["index.json", "shard.00000.mds"]  # nothing extra
    _write(out, 3, exist_ok=True)  # free again
    assert len(LocalDataset(str(out))) == 3


def test_closing_an_unfinished_writer_frees_its_output(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    abandoned = MDSWriter(out=str(out), columns=COLUMNS, size_limit=300)
    for i in range(10):
        abandoned.write({"id": i, "text": "x"})
    abandoned.close()
    assert not (out / "index.json").exists()
    _write(out, 2, exist_ok=True)
    assert len(LocalDataset(str(out))) == 2


def test_lock_of_a_killed_writer_is_released(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    script = (
        "import sys, time\nfrom streaming.format import MDSWriter\n"
        "w = MDSWriter(out=sys.argv[1], columns={'id': 'int'})\nprint('locked', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "locked\n"
        with pytest.raises(OutputInUseError, match=f"process {proc.pid}.*wait for it to finish"):
            MDSWriter(out=str(out), columns=COLUMNS)
    finally:
        proc.kill()
        proc.wait()
    assert Path(f"{out}.lock").exists()  # left by SIGKILL, but no longer locked
    deadline = time.monotonic() + 10
    while True:
        try:
            _write(out, 2)
            break
        except OutputInUseError:  # the kernel drops the lock as the process is reaped
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert len(LocalDataset(str(out))) == 2


# -- item 15: exist_ok replaces only a dataset -----------------------------------------------------


def test_exist_ok_refuses_a_directory_with_other_files(tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    (out / "src").mkdir()
    with pytest.raises(FileExistsError) as info:
        _write(out, 3, exist_ok=True)
    assert str(info.value) == (
        f"exist_ok=True replaces a dataset, but {str(out)!r} also holds 2 entries that are not a "
        "dataset's files: 'src', 'thesis.tex'. Nothing was deleted. Remove them yourself or "
        "choose another output directory."
    )
    assert (out / "thesis.tex").read_text() == "years of work" and (out / "src").is_dir()
    assert not Path(f"{out}.lock").exists()


def test_exist_ok_replaces_a_dataset_with_its_decompressed_and_temporary_files(
    tmp_path: Path,
) -> None:
    out = tmp_path / "ds"
    _write(out, 20, compression="zstd")
    assert len(LocalDataset(str(out))) == 20  # leaves decompressed .mds files beside the zips
    (out / "shard.00007.mds.zstd.tmp-123-456").write_bytes(b"left by a crash")
    _write(out, 4, exist_ok=True)
    assert [s["id"] for s in LocalDataset(str(out))] == [0, 1, 2, 3]


# -- item 9: duplicate column names ---------------------------------------------------------------


def test_duplicate_column_names_in_an_index_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with MDSWriter(out=str(out), columns={"a": "int", "b": "int"}) as writer:
        writer.write({"a": 1, "b": 2})
    index = json.loads((out / "index.json").read_bytes())
    index["shards"][0]["column_names"] = ["a", "a"]
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(IndexFormatError) as info:
        LocalDataset(str(out))
    assert str(info.value) == (
        f"Malformed index {str(out / 'index.json')!r}, shard 0: column 'a' appears twice in "
        "'column_names'"
    )


# -- item 13: values a column cannot read back ----------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("text", b"caf\xe9", "bytes that are not UTF-8"),
        ("count", b"12a", "pre-encoded bytes that 'str_int' cannot read back"),
        ("meta", b"{'a': 1}", "pre-encoded bytes that 'json' cannot read back"),
        ("id", b"\x01" * 7, "encodes to 7 bytes, but the encoding is fixed at 8 bytes"),
    ],
)
def test_writer_refuses_what_the_reader_cannot_read(
    tmp_path: Path, column: str, value: bytes, problem: str
) -> None:
    columns = {"id": "int", "text": "str", "count": "str_int", "meta": "json"}
    good = {"id": 1, "text": "x", "count": 2, "meta": {"a": 1}}
    writer = MDSWriter(out=str(tmp_path / "ds"), columns=columns)
    writer.write(good)
    with pytest.raises(EncodingError) as info:
        writer.write({**good, column: value})
    message = str(info.value)
    assert f"Cannot encode column {column!r}" in message and "sample 1" in message
    assert problem in message
    writer.write({**good, "id": b"\x02" + bytes(7)})  # 8 raw bytes read back: kept, as the peer
    writer.finish()
    assert [s["id"] for s in LocalDataset(str(tmp_path / "ds"))] == [1, 2]
