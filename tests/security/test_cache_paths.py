"""Issue 14, items 1 and 7: the cache writes, renames and deletes only its own files, in
directories it owns. Another user (a separate process, `other_user`) plants directories and
symbolic links where the cache would go; the cache refuses them or never looks there."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from streaming import StreamingDataset
from streaming.cache.locks import lock_path
from streaming.cache.paths import UnsafeCacheDirectoryError
from streaming.cache.safefs import EscapingPathError
from streaming.cli.main import main
from tests.cache.conftest import write_dataset
from tests.security.conftest import OtherUser


def _digest(remote: str) -> str:
    return hashlib.blake2s(remote.encode(), digest_size=16).hexdigest()


def _ids(ds: StreamingDataset) -> list[int]:
    return [int(s["id"]) for s in ds]


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root`: file bytes, or ``-> target`` for links."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, names in os.walk(root):
        for name in dirnames + names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                out[rel] = Path(path).read_bytes()
            else:
                out[rel] = "dir"
    return out


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    root = tmp_path / "remote"
    write_dataset(root, n=60)
    return root


@pytest.fixture
def poisoned(shared_dir: Path) -> Path:
    """An attacker's dataset (ids 1000...) that all users can read."""
    root = shared_dir / "poison-src"
    samples = write_dataset(root, n=60)
    assert samples[0]["id"] == 0
    with open(root / "index.json") as f:
        index = json.load(f)
    assert index["shards"]
    os.system(f"chmod -R a+rX {root}")
    return root


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_default_cache_is_per_user_and_private(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    ds = StreamingDataset(remote=str(remote), batch_size=4)
    root = home / ".cache" / "streaming"
    assert ds.streams[0].local == str(root / _digest(str(remote)))
    assert _ids(ds) == list(range(60))
    for folder in (root, root / _digest(str(remote)), root / "meta"):
        assert oct(folder.stat().st_mode & 0o7777) == "0o700", folder
    assert sorted(os.listdir(ds.streams[0].local))[0] == "index.json"  # no .streaming


def test_poisoning_the_old_temp_path_has_no_effect(
    remote: Path, poisoned: Path, shared_dir: Path, other_user: OtherUser,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # The attacker fills $TMPDIR/<blake2s(remote)> first, where the cache used to go.
    trap = shared_dir / _digest(str(remote))
    other_user.run(f"cp -r {poisoned} {trap}")
    before = _tree(trap)
    monkeypatch.setenv("TMPDIR", str(shared_dir))
    monkeypatch.setattr(tempfile, "tempdir", str(shared_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ds = StreamingDataset(remote=str(remote), batch_size=4)
    assert _ids(ds) == list(range(60))  # the real samples
    assert not ds.streams[0].local.startswith(str(shared_dir))
    assert _tree(trap) == before  # nothing written there


def test_a_cache_root_created_by_another_user_is_refused(
    remote: Path, poisoned: Path, shared_dir: Path, other_user: OtherUser,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # XDG_CACHE_HOME in a shared folder: the attacker creates <it>/streaming/<digest> first.
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_dir))
    other_user.run(
        f"mkdir -m 777 {shared_dir}/streaming && cp -r {poisoned} "
        f"{shared_dir}/streaming/{_digest(str(remote))}"
    )
    with pytest.raises(UnsafeCacheDirectoryError) as e:
        StreamingDataset(remote=str(remote), batch_size=4)
    assert str(e.value) == (
        f"Refusing cache directory '{shared_dir}/streaming': it is owned by uid "
        f"{other_user.uid} ({other_user.name}), not by you (uid 0 (root)). Another user could "
        "plant files there or redirect the cache's writes. Remove it (or make it yours, not a "
        "symbolic link, and not writable by others), or pass a directory you trust explicitly "
        "as `local=`"
    )
    # Named explicitly as `local`, a directory is the user's choice and is used (the cache's
    # records still go to the user's private cache root).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    mine = shared_dir / "chosen"
    other_user.run(f"mkdir -m 777 {mine}")
    ds = StreamingDataset(remote=str(remote), local=str(mine), batch_size=4)
    assert _ids(ds) == list(range(60))


def test_a_cache_root_writable_by_others_is_refused(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "streaming").mkdir(parents=True)
    (tmp_path / "xdg" / "streaming").chmod(0o777)
    with pytest.raises(UnsafeCacheDirectoryError, match=r"writable by group or others without "
                       r"the sticky bit \(mode 777\)"):  # fmt: skip
        StreamingDataset(remote=str(remote), batch_size=4)


def test_a_redirecting_symlink_is_refused(
    remote: Path, shared_dir: Path, other_user: OtherUser,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    victim_file = f"notes.txt.tmp-{_dead_pid()}-1"  # looks like a dead process's download
    (private / victim_file).write_text("keep me")
    before = _tree(private)
    # The attacker points <shared XDG>/streaming at the victim's private directory ...
    other_user.run(f"ln -s {private} {shared_dir}/streaming")
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_dir))
    with pytest.raises(UnsafeCacheDirectoryError, match=r"is a symbolic link \(to '"):
        StreamingDataset(remote=str(remote), batch_size=4)
    # ... and the old path, $TMPDIR/<blake2s(remote)>, at it too.
    other_user.run(f"ln -s {private} {shared_dir}/{_digest(str(remote))}")
    monkeypatch.setenv("TMPDIR", str(shared_dir))
    monkeypatch.setattr(tempfile, "tempdir", str(shared_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _ids(StreamingDataset(remote=str(remote), batch_size=4)) == list(range(60))
    assert _tree(private) == before  # nothing written, nothing deleted


def test_the_orphan_sweep_never_deletes_through_a_link(remote: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    local = tmp_path / "cache"
    local.mkdir()
    link = local / f"shard.00000.mds.tmp-{_dead_pid()}-1"
    link.symlink_to(victim)
    dead_file = local / f"shard.00001.mds.tmp-{_dead_pid()}-1"
    dead_file.write_text("partial")
    ds = StreamingDataset(remote=str(remote), local=str(local), batch_size=4)
    assert _ids(ds) == list(range(60))
    assert victim.read_text() == "keep me" and link.is_symlink()
    assert not dead_file.exists()  # a dead process's own temporary file is swept


def test_a_planted_lock_link_is_never_followed(
    remote: Path, shared_dir: Path, other_user: OtherUser, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    target = private / "x"
    # The old layout: another user's cache with a lock file that links into root's directory.
    theirs = shared_dir / "their-cache"
    other_user.run(
        f"mkdir -p {theirs}/.streaming/locks && echo 's3://b/x|' > {theirs}/.streaming/remote "
        f"&& ln -s {target} {theirs}/.streaming/locks/a.use"
    )
    assert main(["cache", "clean", "--all"]) == 0
    assert main(["cache", "clean", str(theirs)]) == 0
    assert main(["cache", "ls", str(shared_dir)]) == 0
    assert not target.exists() and not os.path.lexists(target)
    # The lock files now live in the user's private meta directory, and are opened with
    # O_NOFOLLOW: even a link planted there is refused, not followed.
    ds = StreamingDataset(remote=str(remote), local=str(tmp_path / "c"), batch_size=4)
    shard = ds.shards[0]
    Path(lock_path(shard.dirname, "shard.00000.mds.use")).symlink_to(target)
    with pytest.raises(EscapingPathError, match="is a symbolic link"):
        ds._cache.acquire(0)
    assert not os.path.lexists(target)
