"""We write every spec; the peer reads it back (its LocalDataset, and its StreamingDataset with
``remote=None``, which decompresses and validates hashes) and checks every file's hashes."""

from __future__ import annotations

import pytest

from tests.interop._compare import assert_peer_read, error_kind, normalise_read
from tests.interop._support import EMPTY, SPEC_NAMES, STRICT_NAMES

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("name", STRICT_NAMES)
def test_peer_reads_our_dataset(
    name: str, ours_written: dict, peer_report: dict, expected: dict
) -> None:
    assert ours_written[name] is None, f"our writer failed on {name!r}:\n{ours_written[name]}"
    ours = peer_report["reads"]["ours"][name]
    if name in EMPTY:
        # The peer cannot open an empty dataset at all (its own neither): same errors on ours.
        own = peer_report["reads"]["peer"][name]
        assert normalise_read(ours) == normalise_read(own)
        assert error_kind(ours["streaming_error"]) == "RuntimeError"
        return
    assert_peer_read(ours, expected[name], name, "our")
    if name in {"mds_all_hashes", "comp_zstd", "json_zstd", "mds_scalars"}:
        assert ours["validate_hash"] is not None


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_peer_reads_its_own_dataset(name: str, peer_report: dict, expected: dict) -> None:
    """Checks the expectations themselves: the peer decodes its own datasets to them."""
    assert peer_report["write_errors"].get(name) is None, peer_report["write_errors"][name]
    own = peer_report["reads"]["peer"][name]
    if name in EMPTY:
        assert error_kind(own["local_error"]) == "IndexError"
        assert error_kind(own["streaming_error"]) == "RuntimeError"
        return
    assert_peer_read(own, expected[name], name, "the peer's")
