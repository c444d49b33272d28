"""``gs://bucket/key`` in HMAC mode: boto3 against Cloud Storage's S3-compatible XML API.

`streaming.storage.gcs.GCSBackend` hands its operations here when both ``GCS_KEY`` and
``GCS_SECRET`` are set, as mosaicml-streaming does: an HMAC key pair (Cloud Storage, Settings,
Interoperability) signing requests to ``https://storage.googleapis.com`` with region ``auto``.
``STORAGE_EMULATOR_HOST``, the variable that points the GCS SDK at an emulator, points these
requests at an S3-compatible stand-in instead (the tests use moto). Everything else (one streamed
GET per download, the watchdog that bounds it, the caller's retry loop, the error mapping) is
`streaming.storage.s3.S3Backend`'s; the S3-only settings (``S3_ENDPOINT_URL``, ``S3_CANNED_ACL``,
``MOSAICML_STREAMING_AWS_REQUESTER_PAYS``, the AWS credential chain) do not apply.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

from streaming.storage.s3 import S3Backend

__all__ = ["GCSHMACBackend", "hmac_configured", "GCS_XML_ENDPOINT"]

#: Cloud Storage's S3-compatible endpoint.
GCS_XML_ENDPOINT = "https://storage.googleapis.com"


def hmac_configured() -> bool:
    """Whether ``GCS_KEY`` and ``GCS_SECRET`` are both set (the peer's test for HMAC mode)."""
    return "GCS_KEY" in os.environ and "GCS_SECRET" in os.environ


def _endpoint() -> str:
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if not emulator:
        return GCS_XML_ENDPOINT
    return emulator if "://" in emulator else f"http://{emulator}"


def _split_gs_url(url: str) -> tuple[str, str]:
    from streaming.storage.gcs import split_gs_url

    return split_gs_url(url)


class GCSHMACBackend(S3Backend):
    """``gs://`` URLs signed with the HMAC key in ``GCS_KEY``/``GCS_SECRET``."""

    schemes = ("gs",)
    credentials_help = "the HMAC key in GCS_KEY/GCS_SECRET"
    _split = staticmethod(_split_gs_url)

    def _request_args(self, bucket: str) -> dict[str, str]:
        return {}

    def _upload_args(self, bucket: str) -> dict[str, str]:
        return {}

    def _client(self, timeout: float, attempts: int) -> Any:
        settings = (os.environ["GCS_KEY"], os.environ["GCS_SECRET"], _endpoint())
        key = (settings, float(timeout), attempts)
        client = self._clients.get(key)
        if client is None:
            with self._client_lock:
                client = self._clients.get(key)
                if client is None:
                    session = boto3.session.Session(
                        aws_access_key_id=settings[0], aws_secret_access_key=settings[1]
                    )
                    config = Config(
                        connect_timeout=min(float(timeout), 10.0),
                        read_timeout=float(timeout),
                        retries={"mode": "standard", "total_max_attempts": attempts},
                    )
                    client = session.client(
                        "s3", region_name="auto", endpoint_url=settings[2], config=config
                    )
                    self._clients[key] = client
        return client
