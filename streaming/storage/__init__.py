"""Object storage: one interface, one module per backend, chosen by URL scheme."""

from streaming.storage.upload import Uploader, get_uploader

__all__ = ["Uploader", "get_uploader"]
