"""Custom MDS encodings: registered with `register_encoding` or, as with mosaicml-streaming,
by putting the class in ``_encodings``; written by `MDSWriter`, read back by `LocalDataset` and
`StreamingDataset` (also in DataLoader workers), and byte-compatible with the peer's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.format.errors import EncodingError
from tests.peers.runner import run_peer

# The encodings, as a user writes them for the peer; run in both venvs.
ENCODINGS = r'''
import struct
from streaming.base.format.mds.encodings import Encoding, _encodings

class Point(Encoding):
    """Two float32s, fixed size."""
    size = 8

    def encode(self, obj):
        return struct.pack("<ff", *obj)

    def decode(self, data):
        return list(struct.unpack("<ff", data))


class Shout(Encoding):
    """A str stored upper-case, read back lower-case (variable size)."""

    def encode(self, obj):
        self._validate(obj, str)
        return obj.upper().encode("utf-8")

    def decode(self, data):
        return data.decode("utf-8").lower()
'''

COLUMNS = {"id": "int", "pt": "point_h4a", "word": "shout_h4a"}


def _samples(n: int) -> list[dict]:
    return [{"id": i, "pt": [i / 2, -i], "word": f"word{i}"} for i in range(n)]


def _expected(n: int) -> list[dict]:
    return [{"id": i, "pt": [i / 2, float(-i)], "word": f"word{i}"} for i in range(n)]


@pytest.fixture
def user_classes() -> Iterator[dict]:
    """The two classes, defined as the user would; unregistered afterwards."""
    from streaming.format.mds.encodings import _encodings

    scope: dict = {}
    exec(ENCODINGS, scope)  # noqa: S102 - test code
    yield scope
    for name in ("point_h4a", "shout_h4a"):
        _encodings.pop(name, None)


def _write(out: Path, n: int = 20) -> None:
    from streaming.base import MDSWriter

    with MDSWriter(out=str(out), columns=COLUMNS, size_limit=200) as writer:
        for sample in _samples(n):
            writer.write(sample)


def _read_all(out: Path) -> tuple[list[dict], list[dict], list[dict]]:
    from torch.utils.data import DataLoader

    from streaming.base import LocalDataset, StreamingDataset

    local = LocalDataset(local=str(out))
    by_local = [local[i] for i in range(len(local))]
    streaming = StreamingDataset(local=str(out), batch_size=4)
    by_streaming = [streaming[i] for i in range(streaming.size)]
    loader = DataLoader(
        StreamingDataset(local=str(out), batch_size=4), batch_size=None, num_workers=2
    )
    by_workers = sorted(loader, key=lambda s: s["id"])
    return by_local, by_streaming, by_workers


def _plain(samples: list[dict]) -> list[dict]:
    return [{"id": int(s["id"]), "pt": list(s["pt"]), "word": s["word"]} for s in samples]


def test_peer_route_encodings_dict(user_classes: dict, tmp_path: Path) -> None:
    from streaming.base.format.mds.encodings import _encodings, get_mds_encodings

    assert "point_h4a" not in get_mds_encodings()
    _encodings["point_h4a"] = user_classes["Point"]
    _encodings["shout_h4a"] = user_classes["Shout"]
    assert {"point_h4a", "shout_h4a"} <= get_mds_encodings()

    _write(tmp_path / "ds")
    index = json.loads((tmp_path / "ds" / "index.json").read_text())
    shard = index["shards"][0]
    assert shard["column_encodings"] == ["int", "point_h4a", "shout_h4a"]
    assert shard["column_sizes"] == [8, 8, None]
    for read in _read_all(tmp_path / "ds"):
        assert _plain(read) == _expected(20)


def test_register_encoding(user_classes: dict, tmp_path: Path) -> None:
    from streaming.base.format.mds.encodings import mds_decode, mds_encode, register_encoding

    register_encoding("point_h4a", user_classes["Point"])
    register_encoding("shout_h4a", user_classes["Shout"])
    assert mds_encode("shout_h4a", "abc") == b"ABC"
    assert mds_decode("shout_h4a", b"ABC") == "abc"
    _write(tmp_path / "ds")
    for read in _read_all(tmp_path / "ds"):
        assert _plain(read) == _expected(20)


def test_unregistered_encoding_is_refused_by_writer_and_reader(
    user_classes: dict, tmp_path: Path
) -> None:
    from streaming.base import LocalDataset, MDSWriter
    from streaming.base.format.mds.encodings import _encodings, register_encoding

    register_encoding("point_h4a", user_classes["Point"])
    register_encoding("shout_h4a", user_classes["Shout"])
    _write(tmp_path / "ds")
    del _encodings["shout_h4a"]  # changing the dict takes effect at once
    with pytest.raises(EncodingError, match="'shout_h4a' for column 'word'"):
        LocalDataset(local=str(tmp_path / "ds"))[0]
    with pytest.raises(TypeError, match="Unsupported encoding 'shout_h4a' for column 'word'"):
        MDSWriter(out=str(tmp_path / "again"), columns=COLUMNS)  # the peer raised TypeError


def test_custom_encoding_errors_name_the_column(user_classes: dict, tmp_path: Path) -> None:
    from streaming.base import MDSWriter
    from streaming.base.format.mds.encodings import register_encoding

    register_encoding("point_h4a", user_classes["Point"])
    register_encoding("shout_h4a", user_classes["Shout"])
    with MDSWriter(out=str(tmp_path / "ds"), columns=COLUMNS) as writer:
        with pytest.raises(AttributeError) as info:  # the peer's Encoding._validate type
            writer.write({"id": 0, "pt": [0, 0], "word": 7})
    assert isinstance(info.value, EncodingError)
    assert "column 'word' as 'shout_h4a'" in str(info.value)


@pytest.mark.parametrize(
    ("name", "cls", "message"),
    [
        ("", object, "non-empty str without ':'"),
        ("a:b", object, "non-empty str without ':'"),
        ("ok_h4a", object, "must be a class with encode"),
        ("ok_h4a", "Point", "must be a class with encode"),
    ],
)
def test_register_encoding_checks_its_arguments(name: str, cls: object, message: str) -> None:
    from streaming.base.format.mds.encodings import get_mds_encodings, register_encoding

    with pytest.raises(EncodingError, match=message):
        register_encoding(name, cls)  # type: ignore[arg-type]
    assert "ok_h4a" not in get_mds_encodings()


def test_parameterised_custom_encoding(tmp_path: Path) -> None:
    from streaming.base import LocalDataset, MDSWriter
    from streaming.base.format.mds.encodings import Encoding, _encodings, register_encoding

    class Repeat(Encoding):
        def __init__(self, times: int = 1) -> None:
            self.times = times

        @classmethod
        def from_str(cls, config: str) -> Repeat:
            return cls(int(config))

        def encode(self, obj: bytes | str) -> bytes:
            return obj.encode() * self.times if isinstance(obj, str) else obj

        def decode(self, data: bytes) -> str:
            return data[: len(data) // self.times].decode()

    register_encoding("repeat_h4a", Repeat)
    try:
        with MDSWriter(out=str(tmp_path / "ds"), columns={"s": "repeat_h4a:3"}) as writer:
            writer.write({"s": "ab"})
        data = (tmp_path / "ds" / "shard.00000.mds").read_bytes()
        assert data.endswith(b"ababab")
        assert LocalDataset(local=str(tmp_path / "ds"))[0] == {"s": "ab"}
    finally:
        _encodings.pop("repeat_h4a", None)


def test_builtin_entries_are_encoding_classes() -> None:
    from streaming.base.format.mds.encodings import Encoding, _encodings

    assert {"int", "str", "bytes", "ndarray", "jpeg", "pkl", "json"} <= set(_encodings)
    int_encoding = _encodings["int"]()
    assert isinstance(int_encoding, Encoding)
    assert int_encoding.size == 8
    assert int_encoding.encode(7) == (7).to_bytes(8, "little")
    assert int_encoding.decode(b"\x07" + b"\0" * 7) == 7


@pytest.mark.slow
def test_custom_encoding_datasets_cross_with_the_peer(
    mosaic_python: Path, user_classes: dict, tmp_path: Path
) -> None:
    """The peer, with the same classes in its ``_encodings``, reads what we wrote; we read what
    it wrote; the shard bytes are identical."""
    from streaming.base.format.mds.encodings import register_encoding

    register_encoding("point_h4a", user_classes["Point"])
    register_encoding("shout_h4a", user_classes["Shout"])
    _write(tmp_path / "ours")
    script = ENCODINGS + r'''
import json, sys
from streaming.base import LocalDataset, MDSWriter
_encodings["point_h4a"] = Point
_encodings["shout_h4a"] = Shout
with MDSWriter(out=sys.argv[2], columns=json.loads(sys.argv[3]), size_limit=200) as writer:
    for i in range(20):
        writer.write({"id": i, "pt": [i / 2, -i], "word": f"word{i}"})
ds = LocalDataset(local=sys.argv[1])
print(json.dumps([{"id": int(s["id"]), "pt": s["pt"], "word": s["word"]}
                  for s in (ds[i] for i in range(len(ds)))]))
'''
    read_by_peer = json.loads(
        run_peer(mosaic_python, script, str(tmp_path / "ours"), str(tmp_path / "peer"),
                 json.dumps(COLUMNS))
    )  # fmt: skip
    assert read_by_peer == _expected(20)
    for read in _read_all(tmp_path / "peer"):
        assert _plain(read) == _expected(20)
    ours = sorted(p.name for p in (tmp_path / "ours").iterdir())
    assert ours == sorted(p.name for p in (tmp_path / "peer").iterdir())
    for name in ours:
        if name.endswith(".mds"):
            mine, theirs = tmp_path / "ours" / name, tmp_path / "peer" / name
            assert mine.read_bytes() == theirs.read_bytes()
