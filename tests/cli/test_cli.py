"""The `streaming` command: convert, inspect and verify, in-process and as the console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streaming.cli.main import COMMANDS, main
from tests.datasets import _raw

SCRIPT = Path(sys.executable).parent / "streaming"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """CIFAR-10's replica converted with the command: out/train (5 shards) and out/val."""
    root = tmp_path_factory.mktemp("cli")
    _raw.cifar10(root / "raw", per_batch=2)
    code = main(["convert", "cifar10", "--in", str(root / "raw"), "--out", str(root / "out"),
                 "--workers", "1", "--no-progress", "--hashes", "sha1,xxh64"])  # fmt: skip
    assert code == 0
    return root / "out"


def copy(dataset: Path, tmp_path: Path) -> Path:
    shutil.copytree(dataset, tmp_path / "ds")
    return tmp_path / "ds"


def test_commands_are_a_registry(capsys) -> None:
    assert {"convert", "inspect", "verify", "cache"} <= set(COMMANDS)
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)  # every registered module is a sub-command


def test_convert_prints_a_summary(tmp_path, capsys) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=2)
    argv = ["convert", "cifar10", "--in", str(tmp_path / "raw"), "--out", str(tmp_path / "o"),
            "--workers", "1", "--compression", "zstd:3", "--size-limit", "1mb",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Converted cifar10" in out
    assert "train: 10 samples, 5 shards in 5 parts" in out and "uncompressed" in out
    assert main(argv) == 0
    assert "5 parts kept from an earlier run" in capsys.readouterr().out


def test_convert_usage_errors_exit_2(tmp_path, capsys) -> None:
    base = ["convert", "cifar10", "--in", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*base, "--compression", "zip"]) == 2
    err = capsys.readouterr().err
    assert "error: Unknown compression 'zip'" in err and "hint: use none, br" in err
    assert main([*base, "--hashes", "md99"]) == 2
    assert main([*base, "--part-size", "0"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["convert", "cifar10", "--out", "x"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["convert", "mnist", "--in", "a", "--out", "b"])


def test_inspect(dataset, capsys) -> None:
    assert main(["inspect", str(dataset / "train")]) == 0
    out = capsys.readouterr().out
    assert "shards       5 (mds)" in out and "samples      10 (2 per shard)" in out
    assert "columns      x: png, y: int (8 B)" in out and "compression  none" in out
    assert "hashes       sha1, xxh64" in out and "problems     none found" in out
    assert main(["inspect", str(dataset), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["url"].rsplit("/", 1)[-1] for r in reports] == ["train", "val"]
    assert reports[1]["samples"] == 2 and reports[1]["columns"][0]["encoding"] == "png"


def test_inspect_reports_problems(dataset, tmp_path, capsys) -> None:
    ds = copy(dataset, tmp_path)
    (ds / "train" / "part-00001" / "shard.00000.mds").unlink()
    with open(ds / "train" / "part-00002" / "shard.00000.mds", "ab") as f:
        f.write(b"extra")
    assert main(["inspect", str(ds / "train")]) == 1  # it lists problems
    out = capsys.readouterr().out
    assert "problems     2:" in out
    assert "shard 1: part-00001/shard.00000.mds is missing" in out
    assert "shard 2: part-00002/shard.00000.mds is" in out and "index.json records" in out


def test_inspect_remote_downloads_only_the_index(dataset, fake_store, capsys) -> None:
    shutil.copytree(dataset, fake_store / "bucket" / "ds")
    assert main(["inspect", "fake://bucket/ds"]) == 0
    out = capsys.readouterr().out
    assert "fake://bucket/ds/train" in out and "fake://bucket/ds/val" in out
    assert main(["verify", "fake://bucket/ds/val", "--no-progress"]) == 0


def test_verify_ok(dataset, capsys) -> None:
    assert main(["verify", str(dataset), "--no-progress", "--samples"]) == 0
    out = capsys.readouterr().out
    assert "train: 5 of 5 shards OK, 0 bad" in out and "val: 1 of 1 shards OK, 0 bad" in out


def test_verify_names_corrupt_missing_and_truncated_shards(dataset, tmp_path, capsys) -> None:
    ds = copy(dataset, tmp_path)
    shard = ds / "train" / "part-00003" / "shard.00000.mds"
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0xFF
    shard.write_bytes(bytes(data))
    (ds / "train" / "part-00000" / "shard.00000.mds").unlink()
    truncated = ds / "train" / "part-00004" / "shard.00000.mds"
    truncated.write_bytes(truncated.read_bytes()[:-3])
    assert main(["verify", str(ds / "train"), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "BAD shard 0: part-00000/shard.00000.mds: missing" in out
    assert "BAD shard 3: part-00003/shard.00000.mds: sha1 is" in out
    assert "BAD shard 3: part-00003/shard.00000.mds: xxh64 is" in out
    assert "BAD shard 4: part-00004/shard.00000.mds:" in out and "bytes, index.json records" in out
    assert "2 of 5 shards OK, 3 bad" in out
    assert main(["verify", str(ds / "train"), "--no-progress", "--hash", "xxh64"]) == 1
    assert "sha1 is" not in capsys.readouterr().out


def test_verify_compressed_and_samples(tmp_path, capsys) -> None:
    _raw.c4(tmp_path / "raw")
    assert main(["convert", "c4", "--in", str(tmp_path / "raw"), "--out", str(tmp_path / "o"),
                 "--workers", "1", "--no-progress"]) == 0  # fmt: skip
    assert main(["verify", str(tmp_path / "o"), "--samples", "--no-progress"]) == 0
    zst = tmp_path / "o" / "train" / "part-00001" / "shard.00000.mds.zstd"
    data = bytearray(zst.read_bytes())
    data[len(data) // 2] ^= 0x55
    zst.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "o" / "train"), "--no-progress"]) == 1
    assert "BAD shard 1: part-00001/shard.00000.mds.zstd: xxh64 is" in capsys.readouterr().out


def test_missing_dataset_is_one_clear_line(tmp_path, capsys) -> None:
    assert main(["inspect", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("streaming inspect: error: ") and "does not exist" in err[0]
    assert err[1].startswith("hint: ") and len(err) == 2


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_console_script_help_and_verify(dataset) -> None:
    result = run_script("--help")
    assert result.returncode == 0 and "convert" in result.stdout and "verify" in result.stdout
    result = run_script("verify", str(dataset / "val"), "--no-progress")
    assert result.returncode == 0 and "1 of 1 shards OK" in result.stdout


def test_console_script_errors_without_traceback(tmp_path) -> None:
    _raw.cifar10(tmp_path / "raw", per_batch=1)
    os.remove(tmp_path / "raw" / "cifar-10-batches-py" / "data_batch_2")
    args = ["convert", "cifar10", "--in", str(tmp_path / "raw"), "--out", str(tmp_path / "o")]
    result = run_script(*args)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("streaming convert: error: Missing CIFAR-10 batch")
    assert "data_batch_2" in lines[0] and lines[1].startswith("hint: ")
    debug = run_script("--debug", *args)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "RawDataError" in debug.stderr


def test_ctrl_c_stops_workers_and_a_rerun_continues(tmp_path) -> None:
    import signal
    import time

    _raw.cifar10(tmp_path / "raw", per_batch=1000)
    args = [str(SCRIPT), "convert", "cifar10", "--in", str(tmp_path / "raw"),
            "--out", str(tmp_path / "o"), "--workers", "2", "--no-progress",
            "--part-size", "20"]  # fmt: skip  (250 parts: Ctrl-C lands long before the end)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if list((tmp_path / "o").glob("*/part-*/index.json")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted. Finished parts are kept" in out and "Run the same command again" in out
    assert "Traceback" not in err
    again = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "kept from an earlier run" in again.stdout
    assert "train: 5,000 samples" in again.stdout
