"""The peer's per-scheme storage classes (`S3Downloader`, `GCSUploader`...), made in one place.

Each is the generic downloader or uploader fixed to one scheme, kept so the peer's imports and
``isinstance`` checks work; `named_classes` makes one subclass per row of `NAMED_SCHEMES` for
either base class.
"""

from __future__ import annotations

import urllib.parse

from streaming.storage.registry import SCHEMES

# (class-name prefix, the scheme as the peer's classes name it, what it serves)
NAMED_SCHEMES: tuple[tuple[str, str, str], ...] = (
    ("S3", "s3", "AWS S3 and S3-compatible stores"),
    ("SFTP", "sftp", "an SFTP server"),
    ("GCS", "gs", "Google Cloud Storage"),
    ("OCI", "oci", "OCI Object Storage"),
    ("HF", "hf", "Hugging Face Hub datasets"),
    ("Azure", "azure", "Azure Blob Storage"),
    ("AzureDataLake", "azure-dl", "Azure Data Lake"),
    ("DatabricksUnityCatalog", "dbfs-uc", "Databricks Unity Catalog volumes"),
    ("DBFS", "dbfs", "the Databricks File System"),
    ("Alipan", "alipan", "Alipan"),
    ("Local", "", "a local path"),
)


def scheme_of(remote: str) -> str:
    """The URL scheme; ``dbfs:/Volumes/...`` is ``dbfs-uc``, as the peer names it."""
    scheme = urllib.parse.urlparse(remote).scheme
    if scheme == "dbfs" and remote.startswith("dbfs:/Volumes"):
        return "dbfs-uc"
    return scheme


def is_served(scheme: str) -> bool:
    """Whether a storage backend serves `scheme` (as `scheme_of` names it)."""
    return ("dbfs" if scheme == "dbfs-uc" else scheme) in SCHEMES


def supported() -> str:
    """The remote schemes served, for error messages."""
    return ", ".join(f"{s}://" for s in SCHEMES if s)


def named_classes(base: type, suffix: str, doc: str, skip: tuple[str, ...] = ()) -> dict[str, type]:
    """``{scheme: <prefix><suffix>}``: a subclass of `base` per named scheme (but `skip`), with
    ``client_identifier`` set to the scheme and `doc` formatted with ``what`` and ``scheme``."""
    classes = {}
    for prefix, scheme, what in NAMED_SCHEMES:
        if scheme in skip:
            continue
        attributes = {
            "client_identifier": scheme,
            "__doc__": doc.format(what=what, scheme=f"{scheme}://" if scheme else "a local path"),
            "__module__": base.__module__,
        }
        classes[scheme] = type(prefix + suffix, (base,), attributes)
    return classes
