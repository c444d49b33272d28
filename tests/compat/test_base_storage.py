"""``streaming.base.storage``: the peer's uploader and downloader classes over our backends,
chosen by the URL scheme of `streaming.storage.registry` (so backends added there need nothing
here), exercised on local paths, a real S3 (moto on loopback) and a scheme added at run time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.storage.local import LocalBackend
from tests.storage.s3.fixtures import bucket, moto, s3  # noqa: F401 (fixtures)
from tests.storage.s3.server import AWS_ENV, AWS_UNSET


@pytest.fixture
def aws(moto: Any, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    for name in AWS_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}.items():
        monkeypatch.setenv(name, value)
    return moto.endpoint


class VaultBackend(LocalBackend):
    """A backend for a made-up ``vault://`` scheme: ``vault://<path>`` is the local <path>."""

    schemes = ("vault",)

    @staticmethod
    def _path(url: str) -> str:
        assert url.startswith("vault://"), url
        return "/" + url[len("vault://") :].lstrip("/")


@pytest.fixture
def vault_scheme(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``vault://`` registered in our storage registry only, as a new backend would be."""
    from streaming.storage import registry

    monkeypatch.setitem(registry.SCHEMES, "vault", (__name__, "VaultBackend", None))
    yield
    for key in [k for k in registry._instances if k[1] == "vault"]:
        registry._instances.pop(key)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_local_uploader(tmp_path: Path) -> None:
    from streaming.base.storage import CloudUploader, LocalUploader

    uploader = CloudUploader.get(str(tmp_path / "out"))
    assert type(uploader) is LocalUploader
    assert (uploader.local, uploader.remote) == (str(tmp_path / "out"), None)
    (tmp_path / "out" / "a.bin").write_bytes(b"a")
    uploader.upload_file("a.bin")  # nothing to upload to: the file stays
    assert uploader.list_objects() == ["a.bin"] and uploader.list_objects("b") == []

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="not empty"):
        CloudUploader.get(str(tmp_path / "busy"))
    assert CloudUploader.get(str(tmp_path / "busy"), exist_ok=True).local == str(tmp_path / "busy")


@pytest.mark.parametrize("keep_local", [False, True])
def test_local_pair_uploader_copies_and_clears(tmp_path: Path, keep_local: bool) -> None:
    from streaming.base.storage import CloudUploader, LocalUploader

    local, remote = tmp_path / "local", tmp_path / "remote"
    uploader = CloudUploader.get((str(local), str(remote)), keep_local=keep_local)
    assert type(uploader) is LocalUploader
    (local / "sub").mkdir(parents=True)
    (local / "sub" / "f.mds").write_bytes(b"data")
    uploader.upload_file("sub/f.mds")
    assert (remote / "sub" / "f.mds").read_bytes() == b"data"
    assert (local / "sub" / "f.mds").exists() == keep_local
    assert uploader.list_objects() == ["sub/f.mds"]


def test_bad_out_is_refused(tmp_path: Path) -> None:
    from streaming.base.storage import CloudUploader

    with pytest.raises(ValueError, match=r"Invalid Cloud provider prefix: nosuch .*supported"):
        CloudUploader.get("nosuch://bucket/x")
    with pytest.raises(ValueError, match="Invalid `out` argument"):
        CloudUploader.get((str(tmp_path),))  # type: ignore[arg-type]


def test_local_downloader_and_download_file(tmp_path: Path) -> None:
    from streaming.base.storage import CloudDownloader, LocalDownloader
    from streaming.base.storage.download import download_file

    (tmp_path / "src").write_bytes(b"payload")
    assert type(CloudDownloader.get(None)) is LocalDownloader
    downloader = CloudDownloader.get(str(tmp_path))
    assert type(downloader) is LocalDownloader
    downloader.download(str(tmp_path / "src"), str(tmp_path / "d" / "one"))
    assert (tmp_path / "d" / "one").read_bytes() == b"payload"
    # An existing local file is not downloaded again (the peer's rule).
    (tmp_path / "src").write_bytes(b"changed")
    downloader.download(str(tmp_path / "src"), str(tmp_path / "d" / "one"))
    assert (tmp_path / "d" / "one").read_bytes() == b"payload"
    download_file(str(tmp_path / "src"), str(tmp_path / "d" / "two"), 5)
    assert (tmp_path / "d" / "two").read_bytes() == b"changed"
    CloudDownloader.direct_download(str(tmp_path / "src"), str(tmp_path / "d" / "three"))
    assert (tmp_path / "d" / "three").read_bytes() == b"changed"

    with pytest.raises(FileNotFoundError, match="does not exist"):
        download_file(str(tmp_path / "absent"), str(tmp_path / "d" / "four"))
    assert not (tmp_path / "d" / "four").exists()
    with pytest.raises(ValueError, match="No remote given to download"):
        downloader.download(None, str(tmp_path / "d" / "five"))
    with pytest.raises(ValueError, match="url scheme of ``, got s3://b/x"):
        downloader.download("s3://b/x", str(tmp_path / "d" / "six"))
    with pytest.raises(ValueError, match="Unsupported remote path: nosuch://b/x"):
        CloudDownloader.get("nosuch://b/x")


def test_named_classes_by_scheme() -> None:
    from streaming.base.storage import (
        AzureDownloader,
        CloudDownloader,
        GCSDownloader,
        OCIDownloader,
        S3Downloader,
        SFTPDownloader,
    )
    from streaming.storage.registry import SCHEMES

    for url, cls in [("s3://b/x", S3Downloader), ("gs://b/x", GCSDownloader),
                     ("oci://b/x", OCIDownloader), ("azure://b/x", AzureDownloader),
                     ("sftp://host/x", SFTPDownloader)]:  # fmt: skip
        if url.split(":")[0] in SCHEMES:  # sftp arrives with its backend
            downloader = CloudDownloader.get(url)
            assert type(downloader) is cls and downloader.scheme == url.split(":")[0]


def test_a_scheme_added_to_the_registry_works_without_naming_it(
    vault_scheme: None, tmp_path: Path
) -> None:
    from streaming.base import LocalDataset, MDSWriter
    from streaming.base.storage import CloudDownloader, CloudUploader, download_file

    vault = f"vault://{tmp_path}/vault"
    uploader = CloudUploader.get(vault)
    assert type(uploader) is CloudUploader and uploader.remote == vault
    Path(uploader.local, "x.txt").write_bytes(b"x")
    uploader.upload_file("x.txt")
    assert (tmp_path / "vault" / "x.txt").read_bytes() == b"x"
    assert uploader.list_objects() == ["x.txt"]
    assert not Path(uploader.local, "x.txt").exists()

    downloader = CloudDownloader.get(vault)
    assert type(downloader) is CloudDownloader and downloader.scheme == "vault"
    downloader.download(f"{vault}/x.txt", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == b"x"

    # A writer through the same registry, then the index back through download_file.
    with MDSWriter(out=f"{vault}/ds", columns={"id": "int"}) as writer:
        writer.write({"id": 5})
    download_file(f"{vault}/ds/index.json", str(tmp_path / "copy" / "index.json"))
    download_file(f"{vault}/ds/shard.00000.mds", str(tmp_path / "copy" / "shard.00000.mds"))
    assert LocalDataset(local=str(tmp_path / "copy"))[0] == {"id": 5}


def test_s3_uploader_and_downloader(aws: str, bucket: str, s3: Any, tmp_path: Path) -> None:  # noqa: F811
    from streaming.base.storage import CloudDownloader, CloudUploader, S3Downloader, S3Uploader

    uploader = CloudUploader.get(f"s3://{bucket}/ds")
    assert type(uploader) is S3Uploader
    assert uploader.remote == f"s3://{bucket}/ds" and os.path.isdir(uploader.local)
    Path(uploader.local, "shard.00000.mds").write_bytes(b"abc" * 100)
    uploader.upload_file("shard.00000.mds")
    body = s3.get_object(Bucket=bucket, Key="ds/shard.00000.mds")["Body"].read()
    assert body == b"abc" * 100
    assert uploader.list_objects() == ["shard.00000.mds"]
    assert not Path(uploader.local, "shard.00000.mds").exists()  # keep_local=False

    downloader = CloudDownloader.get(f"s3://{bucket}/ds")
    assert type(downloader) is S3Downloader
    downloader.download(f"s3://{bucket}/ds/shard.00000.mds", str(tmp_path / "s"))
    assert (tmp_path / "s").read_bytes() == b"abc" * 100
    with pytest.raises(FileNotFoundError):
        downloader.download(f"s3://{bucket}/ds/missing", str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()
