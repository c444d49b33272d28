"""``streaming.base.format.mds.encodings``: the MDS column encodings, and custom ones.

`_encodings` is the live registry our writer and readers consult, so the peer's recipe works::

    from streaming.base.format.mds.encodings import Encoding, _encodings

    class MyEncoding(Encoding):
        def encode(self, obj) -> bytes: ...
        def decode(self, data: bytes): ...

    _encodings["my_encoding"] = MyEncoding

as does ``register_encoding("my_encoding", MyEncoding)``. See `streaming.format.mds.encodings`.
"""

from streaming.format.mds.encodings import (
    Encoding,
    _encodings,
    get_mds_encoded_size,
    get_mds_encodings,
    is_mds_encoding,
    is_mds_encoding_safe,
    mds_decode,
    mds_encode,
    register_encoding,
)

__all__ = [
    "Encoding",
    "get_mds_encoded_size",
    "get_mds_encodings",
    "is_mds_encoding",
    "is_mds_encoding_safe",
    "mds_decode",
    "mds_encode",
    "register_encoding",
]

# `_encodings` is re-exported on purpose (the peer's documented extension point).
_ = _encodings
