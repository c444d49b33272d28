"""A writer stopped part-way never leaves an index.json that names a missing or partial shard.

Stopped by an exception in the caller's code or by Ctrl-C (no index, unlike the peer, which
publishes a dataset cut short as if complete: the shards of the samples written so far are
kept, the exception carries a note saying how many and how to publish them with finish()), by
SIGKILL (no index at all: it is written last), or by a failure of the background thread that
writes shards (no index, and the error says what failed).
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from streaming.format import MDSWriter, writer
from streaming.format.writer import WriterError
from streaming.local import LocalDataset

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("_interrupted_writer.py")
COLUMNS = {"id": "int", "payload": "bytes"}


def _sample(i: int) -> dict[str, Any]:
    return {"id": i, "payload": bytes([i % 251]) * 100}


def _is_complete_mds(path: Path) -> bool:
    """Whether an MDS shard file is whole: its last offset is its size."""
    data = path.read_bytes()
    if len(data) < 8:
        return False
    (n,) = struct.unpack_from("<I", data, 0)
    if len(data) < 4 * (n + 2):
        return False
    (end,) = struct.unpack_from("<I", data, 4 + 4 * n)
    return end == len(data)


def _check_index(out: Path) -> list[int]:
    """Every shard index.json names exists at its recorded size and reads back; return the ids."""
    obj = json.loads((out / "index.json").read_bytes())
    for shard in obj["shards"]:
        path = out / shard["raw_data"]["basename"]
        assert path.is_file(), f"index.json names {path.name}, which is missing"
        assert path.stat().st_size == shard["raw_data"]["bytes"], f"{path.name} is partial"
        assert _is_complete_mds(path)
    return [sample["id"] for sample in LocalDataset(str(out))]


# -- an exception in the caller's code ---------------------------------------------------------


class Boom(Exception):
    pass


def _shard_ids(out: Path) -> list[int]:
    """The ids of every sample in the whole shard files of `out` (no index needed)."""
    ids = []
    for path in sorted(out.glob("shard.*.mds")):
        assert _is_complete_mds(path), f"{path.name} is partial"
        data = path.read_bytes()
        (n,) = struct.unpack_from("<I", data, 0)
        offsets = struct.unpack_from(f"<{n + 1}I", data, 4)
        ids += [struct.unpack_from("<q", data, offsets[i] + 4)[0] for i in range(n)]
    return ids


NOTE = (
    "MDSWriter stopped after {n} samples in {shards} shards: no index.json was written in "
    "{out!r}, so the dataset does not look complete. The shards are kept. To publish these "
    "samples deliberately, call writer.finish(); to combine parts written by separate writers, "
    "use streaming.format.merge_index."
)


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_exception_in_user_code_writes_no_index_and_keeps_the_shards(
    tmp_path: Path, compression: str | None
) -> None:
    with pytest.raises(Boom) as info:
        with MDSWriter(
            out=str(tmp_path), columns=COLUMNS, size_limit=1000, compression=compression
        ) as out:
            for i in range(57):
                out.write(_sample(i))
            raise Boom
    assert not (tmp_path / "index.json").exists()
    assert info.value.__notes__ == [NOTE.format(n=57, shards=10, out=str(tmp_path))]
    assert not list(tmp_path.glob("*.tmp-*"))
    assert not Path(f"{tmp_path}.lock").exists()  # the output lock is released
    if not compression:
        assert _shard_ids(tmp_path) == list(range(57))  # the buffered samples were flushed too
    out.finish()  # publishing deliberately
    assert [s["id"] for s in LocalDataset(str(tmp_path))] == list(range(57))
    if not compression:
        assert _check_index(tmp_path) == list(range(57))


def test_keyboard_interrupt_in_user_code_writes_no_index(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt) as info:
        with MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000) as out:
            for i in range(30):
                out.write(_sample(i))
            raise KeyboardInterrupt
    assert not (tmp_path / "index.json").exists()
    assert info.value.__notes__ == [NOTE.format(n=30, shards=5, out=str(tmp_path))]
    assert _shard_ids(tmp_path) == list(range(30))


def test_keyboard_interrupt_while_handing_over_a_shard(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C can land between a shard's slot in the index and its hand-over to the thread."""
    out = MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000, max_workers=1)
    submit = out._executor.submit
    calls = []

    def interrupted_submit(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return submit(*args, **kwargs)

    monkeypatch.setattr(out._executor, "submit", interrupted_submit)
    with pytest.raises(KeyboardInterrupt):
        with out:
            for i in range(100):
                out.write(_sample(i))
    assert not (tmp_path / "index.json").exists()
    ids = _shard_ids(tmp_path)
    assert ids == list(range(out.samples_written)) and len(ids) >= 14
    out.finish()
    assert _check_index(tmp_path) == ids


class _InterruptedWait:
    """A future whose first `result()` is interrupted by Ctrl-C, as a blocked wait can be."""

    def __init__(self, future: Any) -> None:
        self._future = future
        self._interrupted = False

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        return self._future.cancel()

    def result(self, timeout: float | None = None) -> Any:
        if not self._interrupted:
            self._interrupted = True
            raise KeyboardInterrupt
        return self._future.result(timeout)


def test_keyboard_interrupt_while_waiting_for_a_shard(tmp_path: Path, monkeypatch) -> None:
    out = MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000, max_workers=1)
    submit = out._executor.submit
    calls = []

    def submit_then_interrupt(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        future = submit(*args, **kwargs)
        return _InterruptedWait(future) if len(calls) == 3 else future

    monkeypatch.setattr(out._executor, "submit", submit_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with out:
            for i in range(100):
                out.write(_sample(i))
    assert not (tmp_path / "index.json").exists()  # as for any exception: no index
    out.finish()  # the complete samples were kept, and finish() publishes them
    ids = _check_index(tmp_path)
    assert ids == list(range(out.samples_written)) and len(ids) >= 14


def test_keyboard_interrupt_while_waiting_leaves_no_bad_index(tmp_path: Path, monkeypatch) -> None:
    """Whatever the interrupted wait becomes, no index.json names a missing or partial shard."""
    out = MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000, max_workers=1)
    submit = out._executor.submit
    calls = []

    def submit_then_interrupt(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        future = submit(*args, **kwargs)
        return _InterruptedWait(future) if len(calls) == 3 else future

    monkeypatch.setattr(out._executor, "submit", submit_then_interrupt)
    with pytest.raises((KeyboardInterrupt, WriterError)):
        with out:
            for i in range(100):
                out.write(_sample(i))
    if (tmp_path / "index.json").exists():
        ids = _check_index(tmp_path)
        assert ids == list(range(len(ids)))


# -- Ctrl-C and SIGKILL of a writing process ---------------------------------------------------


def _start_writer(out: Path, slow: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out), *(["--slow"] if slow else [])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_shards(proc: subprocess.Popen, out: Path, count: int, timeout: float = 60) -> None:
    """Poll until `count` shard files exist (no fixed sleeps: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while len(list(out.glob("shard.*.mds"))) < count:
        if proc.poll() is not None:
            raise AssertionError(f"the writer exited early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {count} shards after {timeout} s")
        time.sleep(0.01)


def _stop(proc: subprocess.Popen, sig: int) -> str:
    """Send `sig`, wait for the process to end, and return the end of its stderr."""
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return err.decode(errors="replace")[-2000:]


@pytest.mark.parametrize(("shards_first", "slow"), [(3, False), (12, False), (3, True)])
def test_ctrl_c_mid_write(tmp_path: Path, shards_first: int, slow: bool) -> None:
    out = tmp_path / "ds"
    proc = _start_writer(out, slow)
    _wait_for_shards(proc, out, shards_first)
    err = _stop(proc, signal.SIGINT)
    assert proc.returncode != 0  # the interrupt went on up after the writer stopped
    assert not (out / "index.json").exists()  # a dataset cut short never looks complete
    ids = _shard_ids(out)  # the complete samples are kept in whole shards
    assert len(ids) >= 7 * shards_first  # a shard holds 7 samples
    assert ids == list(range(len(ids)))
    assert "MDSWriter stopped after" in err and "writer.finish()" in err


@pytest.mark.parametrize("shards_first", [3, 12])
def test_sigkill_mid_write(tmp_path: Path, shards_first: int) -> None:
    out = tmp_path / "ds"
    proc = _start_writer(out)
    _wait_for_shards(proc, out, shards_first)
    _stop(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "index.json").exists()  # only written when the writer finishes
    shards = list(out.glob("shard.*.mds"))
    assert len(shards) >= shards_first
    for path in shards:  # a file under a shard's name is whole; a partial one has a .tmp- name
        assert _is_complete_mds(path), f"{path.name} is partial"


# -- a failure in the background thread --------------------------------------------------------


def test_background_write_failure(tmp_path: Path, monkeypatch) -> None:
    write_atomic = writer.write_atomic
    calls = []

    def failing_write_atomic(path: str, chunks: Any) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", path)
        write_atomic(path, chunks)

    monkeypatch.setattr(writer, "write_atomic", failing_write_atomic)
    with pytest.raises(WriterError) as info:
        with MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000) as out:
            for i in range(200):
                out.write(_sample(i))
    message = str(info.value)
    assert "No space left on device" in message and str(tmp_path) in message
    assert isinstance(info.value.__cause__, OSError)
    assert not (tmp_path / "index.json").exists()
    for path in tmp_path.glob("shard.*.mds"):
        assert _is_complete_mds(path)


def test_background_failure_in_the_last_shard(tmp_path: Path, monkeypatch) -> None:
    """The failure surfaces from finish() (the `with` block's end) when no write() follows."""
    write_atomic = writer.write_atomic

    def failing_write_atomic(path: str, chunks: Any) -> None:
        if path.endswith("shard.00001.mds"):
            raise PermissionError(13, "Permission denied", path)
        write_atomic(path, chunks)

    monkeypatch.setattr(writer, "write_atomic", failing_write_atomic)
    with pytest.raises(WriterError, match="Permission denied"):
        with MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000) as out:
            for i in range(10):  # two shards: the second is flushed by the `with` block's end
                out.write(_sample(i))
    assert not (tmp_path / "index.json").exists()


def test_background_failure_then_user_exception(tmp_path: Path, monkeypatch) -> None:
    """A shard failed and the caller's code raised too: still no index naming the lost shard."""
    write_atomic = writer.write_atomic
    failed = []

    def failing_write_atomic(path: str, chunks: Any) -> None:
        if path.endswith("shard.00001.mds"):
            failed.append(path)
            raise OSError(5, "Input/output error", path)
        write_atomic(path, chunks)

    monkeypatch.setattr(writer, "write_atomic", failing_write_atomic)
    with pytest.raises((Boom, WriterError)):
        with MDSWriter(out=str(tmp_path), columns=COLUMNS, size_limit=1000) as out:
            for i in range(20):
                out.write(_sample(i))
                if failed:
                    raise Boom
            raise Boom
    assert not (tmp_path / "index.json").exists()


def test_output_directory_deleted_mid_write(tmp_path: Path) -> None:
    import shutil

    out_dir = tmp_path / "ds"
    with pytest.raises(WriterError) as info:
        with MDSWriter(out=str(out_dir), columns=COLUMNS, size_limit=1000) as out:
            for i in range(10):
                out.write(_sample(i))
            out._reap(block=True)  # the shards so far are on disk
            shutil.rmtree(out_dir)
            for i in range(10, 100):
                out.write(_sample(i))
    assert "No such file or directory" in str(info.value)
    assert not (out_dir / "index.json").exists()
