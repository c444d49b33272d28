"""Inputs that mosaicml-streaming 0.13.0's writers accept, though its docs do not promise them.

A script written against the peer must run unchanged against us, so we must accept them too and
write the same bytes:

- ``lenient_extra_keys`` / ``lenient_json_extra_keys`` / ``lenient_csv_extra_keys``: a sample
  with keys beyond the columns. The peer's ``encode_sample`` iterates over its columns only, so
  the extra keys are silently dropped. **Here we differ on purpose**: dropping a user's data
  without a word is the kind of loss this project exists to stop, so we raise a `ColumnError`
  that names the extra column, the shard and the sample.
- ``lenient_hashes_duplicate``: ``hashes=["sha1", "sha1"]``. The peer only checks that the list
  is sorted (``format/base/writer.py``: ``if list(hashes) != sorted(hashes)``) and records it as
  given.
- ``lenient_size_fraction``: ``size_limit="1.1kb"``. The peer's ``util.bytes_to_int`` returns
  ``int(float("1.1") * 1024)`` = 1126.
- ``lenient_scalar_casts``: numpy scalar columns take any value ``np.<dtype>(value)`` accepts
  (another numpy dtype, a bool, a Python int into a float column).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop._compare import assert_peer_read, assert_same_dataset
from tests.interop._support import LENIENT, read_index

pytestmark = pytest.mark.peer


EXTRA_KEYS = sorted(name for name in LENIENT if name.endswith("extra_keys"))


@pytest.mark.parametrize("name", sorted(set(LENIENT) - set(EXTRA_KEYS)))
def test_we_accept_what_the_peer_accepts(
    name: str, ours_written: dict, peer_report: dict, interop_root: Path, expected: dict
) -> None:
    assert peer_report["write_errors"].get(name) is None, peer_report["write_errors"][name]
    assert ours_written[name] is None, (
        f"the peer writes {name!r}, but our writer raised:\n{ours_written[name]}"
    )
    assert_same_dataset(interop_root / "ours" / name, interop_root / "peer" / name, name)
    assert_peer_read(peer_report["reads"]["ours"][name], expected[name], name, "our")


@pytest.mark.parametrize("name", EXTRA_KEYS)
def test_extra_keys_are_refused_not_dropped(
    name: str, ours_written: dict, peer_report: dict
) -> None:
    assert peer_report["write_errors"].get(name) is None  # the peer silently drops them
    error = ours_written[name]
    assert error is not None and "ColumnError" in error, error
    assert "unexpected" in error and "sample 0" in error and "shard 0" in error, error


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("lenient_hashes_duplicate", "hashes", ["sha1", "sha1"]),
        ("lenient_size_fraction", "size_limit", 1126),
    ],
)
def test_peer_records_lenient_settings(
    name: str, key: str, value: object, peer_report: dict, peer_root: Path
) -> None:
    """What the peer records for these settings (so the cases above mean what they say)."""
    assert peer_report["write_errors"].get(name) is None
    shards = read_index(peer_root / name)["shards"]
    assert len(shards) > 1 or key == "hashes"
    assert {repr(s[key]) for s in shards} == {repr(value)}
