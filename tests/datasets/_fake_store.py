"""A stand-in object store for tests: ``fake://bucket/key`` URLs backed by a local folder, so
that code paths for remote outputs (staging, uploads, downloads) run without a server."""

from __future__ import annotations

import os
from typing import ClassVar
from urllib.parse import urlparse

from streaming.storage.local import LocalBackend


class FakeBackend(LocalBackend):
    """``fake://bucket/key`` is the file ``<root>/bucket/key``."""

    schemes = ("fake",)
    root: ClassVar[str] = ""

    @staticmethod
    def _path(url: str) -> str:
        parsed = urlparse(url)
        return os.path.join(FakeBackend.root, parsed.netloc, parsed.path.lstrip("/"))
