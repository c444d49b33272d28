"""The fake OCI Object Storage server on loopback for the session, and an OCI config for it.

The config file is a real one for the SDK's loader: a freshly generated RSA key, its true
fingerprint, well-formed fake OCIDs, and our ``streaming_endpoint`` key pointing at the server.
The server verifies every request's signature against that key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import streaming.storage.oci as oci_backend
from tests.storage.oci.fake_server import FakeObjectStorage

NAMESPACE = "testns"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaafakefakefakefakefakefakefakefakefakefakefaketenancy"
USER = "ocid1.user.oc1..aaaaaaaafakefakefakefakefakefakefakefakefakefakefakefakeuser"


@dataclass(frozen=True)
class OCIConfig:
    """A written OCI config file and what is in it."""

    path: Path
    fingerprint: str
    key_file: Path
    endpoint: str

    def write_variant(self, path: Path, **changes: str) -> Path:
        """Another config file, with some keys changed (e.g. a wrong fingerprint)."""
        values = {
            "user": USER, "fingerprint": self.fingerprint, "key_file": str(self.key_file),
            "tenancy": TENANCY, "region": "us-ashburn-1", "streaming_endpoint": self.endpoint,
            **changes,
        }
        path.write_text("[DEFAULT]\n" + "".join(f"{k}={v}\n" for k, v in values.items()))
        return path


def fingerprint_of(key: rsa.RSAPrivateKey) -> str:
    """OCI's API-key fingerprint: the MD5 of the public key's DER, as colon-separated hex."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.md5(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


@pytest.fixture(scope="session")
def oci_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[rsa.RSAPrivateKey, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("oci") / "oci_api_key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key, path


@pytest.fixture(scope="session")
def oci_server(oci_key: tuple[rsa.RSAPrivateKey, Path]) -> Iterator[FakeObjectStorage]:
    """The fake server, accepting only our user's key."""
    key, _ = oci_key
    key_id = f"{TENANCY}/{USER}/{fingerprint_of(key)}"
    server = FakeObjectStorage(NAMESPACE, key_id=key_id, public_key=key.public_key()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oci_config(
    oci_server: FakeObjectStorage,
    oci_key: tuple[rsa.RSAPrivateKey, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> OCIConfig:
    key, key_file = oci_key
    config = OCIConfig(Path(), fingerprint_of(key), key_file, oci_server.endpoint)
    path = config.write_variant(tmp_path_factory.mktemp("oci") / "config")
    return OCIConfig(path, config.fingerprint, key_file, oci_server.endpoint)


@pytest.fixture(autouse=True)
def oci_settings(oci_config: OCIConfig, oci_server: FakeObjectStorage) -> Iterator[OCIConfig]:
    """Every test here uses the session's config file (its endpoint comes from the file)."""
    oci_backend.configure(config_file=str(oci_config.path))
    oci_server.faults.clear()
    yield oci_config
    oci_backend.configure()
    oci_server.faults.clear()


@pytest.fixture
def bucket(oci_config: OCIConfig) -> Iterator[str]:
    """A fresh, empty bucket's name, deleted afterwards."""
    import oci

    client = oci.object_storage.ObjectStorageClient(
        oci.config.from_file(str(oci_config.path)), service_endpoint=oci_config.endpoint
    )
    name = f"test-{uuid.uuid4().hex[:12]}"
    details = oci.object_storage.models.CreateBucketDetails(name=name, compartment_id=TENANCY)
    client.create_bucket(NAMESPACE, details)
    yield name
    try:
        client.delete_bucket(NAMESPACE, name)
    except oci.exceptions.ServiceError as e:
        if e.status != 404:  # a test may have deleted it
            raise
