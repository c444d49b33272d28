"""Which backend serves a URL: chosen by scheme, imported only when first used (so the SDK of a
scheme nobody uses is never imported), and one instance per process (clients are per process)."""

from __future__ import annotations

import importlib
import os
import threading
from urllib.parse import urlparse

from streaming.storage.base import Backend

__all__ = ["get_backend", "is_remote_url", "SCHEMES"]

#: scheme -> (module, class, the extra that installs its SDK)
SCHEMES: dict[str, tuple[str, str, str | None]] = {
    "": ("streaming.storage.local", "LocalBackend", None),
    "file": ("streaming.storage.local", "LocalBackend", None),
    "s3": ("streaming.storage.s3", "S3Backend", "s3"),
    "gs": ("streaming.storage.gcs", "GCSBackend", "gcs"),
    "oci": ("streaming.storage.oci", "OCIBackend", "oci"),
    "azure": ("streaming.storage.azure", "AzureBackend", "azure"),
    "sftp": ("streaming.storage.sftp", "SFTPBackend", "sftp"),
    "hf": ("streaming.storage.hf", "HFBackend", "hf"),
    "azure-dl": ("streaming.storage.adls", "ADLSBackend", "adls"),
    "abfs": ("streaming.storage.adls", "ADLSBackend", "adls"),
    "abfss": ("streaming.storage.adls", "ADLSBackend", "adls"),
    "dbfs": ("streaming.storage.dbfs", "DBFSBackend", "databricks"),
}

#: Schemes mosaicml-streaming reads that no backend here serves, and why.
UNSUPPORTED: dict[str, str] = {
    "alipan": (
        "its only client (AliPCS-Py, an unofficial client of Aliyun Drive's undocumented web API) "
        "has its service address built in, so it cannot be tested against anything but the live "
        "service; copy the data to a supported store"
    ),
    "adl": "Azure Data Lake Storage Gen1 is retired; use abfs:// or azure-dl:// (Gen2)",
}

def is_remote_url(path: str) -> bool:
    """Whether `path` is a URL (``s3://...``, ``file://...``, Databricks' single-slash
    ``dbfs:/Volumes/...``) rather than a plain local path. The one test every writer, merge
    and converter uses to decide between writing a directory and uploading."""
    return "://" in path or path.startswith("dbfs:/")


_lock = threading.Lock()
_instances: dict[tuple[int, str], Backend] = {}


def get_backend(url: str) -> Backend:
    """The backend for `url`'s scheme, shared by the threads of this process.

    Raises:
        ValueError: no backend serves the scheme (the message lists those that do).
        ImportError: the scheme's SDK is not installed (the message names the extra).
    """
    parsed = urlparse(url)
    scheme = parsed.scheme if not (len(parsed.scheme) == 1 and os.name == "nt") else ""
    if scheme in UNSUPPORTED:
        raise ValueError(f"Unsupported remote {url!r}: {scheme}:// is not supported: "
                         f"{UNSUPPORTED[scheme]}")
    if scheme not in SCHEMES:
        supported = ", ".join(f"{s}://" for s in SCHEMES if s)
        raise ValueError(
            f"Unsupported remote {url!r}: no storage backend for scheme {scheme + '://'!r}; "
            f"supported: local paths, {supported}"
        )
    key = (os.getpid(), scheme)
    with _lock:
        backend = _instances.get(key)
        if backend is None:
            module_name, class_name, extra = SCHEMES[scheme]
            try:
                module = importlib.import_module(module_name)
            except ImportError as e:
                raise ImportError(
                    f"Remote {url!r} needs the {scheme}:// backend's SDK, which is not installed "
                    f"({e}); install it with `pip install 'openstreaming[{extra}]'`"
                ) from e
            backend = getattr(module, class_name)()
            _instances[key] = backend
    return backend
