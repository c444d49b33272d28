"""Where one of our errors replaces mosaicml-streaming's, it is also an instance of the peer's
exception type for the same case, so ``except`` clauses written for the peer still catch it.

Each case runs the same code in both venvs and compares: the peer's exception type must be in
our exception's MRO, and ours is our own, more precise type whose message names the place.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peers.runner import run_peer

# argv[1]: a scratch directory. Prints {case: [exception type names in MRO order, message]}.
CASES = r'''
import json, os, sys
import numpy as np
from streaming.base import JSONWriter, CSVWriter, LocalDataset, MDSWriter, StreamingDataset

root = sys.argv[1]
results = {}

def case(name):
    def run(fn):
        try:
            fn()
        except BaseException as e:
            results[name] = [[f"{c.__module__}.{c.__qualname__}" for c in type(e).__mro__],
                             str(e)]
        else:
            results[name] = None
    return run

def index_dir(name, text):
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "index.json"), "w") as f:
        f.write(text)
    return path

def write_mds(name, columns, sample):
    with MDSWriter(out=os.path.join(root, name), columns=columns) as w:
        w.write(sample)

@case("empty index, LocalDataset")
def _(): LocalDataset(local=index_dir("empty1", ""))

@case("empty index, StreamingDataset")
def _(): StreamingDataset(local=index_dir("empty2", ""), batch_size=1)

@case("non-JSON index, LocalDataset")
def _(): LocalDataset(local=index_dir("bad1", "{not json"))

@case("non-JSON index, StreamingDataset")
def _(): StreamingDataset(local=index_dir("bad2", "<html>oops</html>"), batch_size=1)

@case("unknown encoding given to MDSWriter")
def _(): MDSWriter(out=os.path.join(root, "unknown"), columns={"x": "no_such_encoding"})

@case("missing column, MDSWriter")
def _(): write_mds("missing", {"a": "int", "b": "str"}, {"a": 1})

@case("str for an int column")
def _(): write_mds("int_str", {"a": "int"}, {"a": "seven"})

@case("int for a str column")
def _(): write_mds("str_int", {"a": "str"}, {"a": 7})

@case("list for an ndarray column")
def _(): write_mds("nd_list", {"a": "ndarray"}, {"a": [1, 2]})

@case("str for a uint8 column")
def _(): write_mds("u8_str", {"a": "uint8"}, {"a": "x"})

@case("set for a json column")
def _(): write_mds("json_set", {"a": "json"}, {"a": {1, 2}})

@case("missing column, JSONWriter")
def _():
    with JSONWriter(out=os.path.join(root, "jmissing"), columns={"a": "int", "b": "str"}) as w:
        w.write({"a": 1})

@case("str for an int JSON column")
def _():
    with JSONWriter(out=os.path.join(root, "jtype"), columns={"a": "int"}) as w:
        w.write({"a": "x"})

@case("str for a float CSV column")
def _():
    with CSVWriter(out=os.path.join(root, "ctype"), columns={"a": "float"}) as w:
        w.write({"a": "x"})

@case("pkl column read without allow_unsafe_types")
def _():
    write_mds("pkl", {"a": "pkl"}, {"a": {"k": 1}})
    StreamingDataset(local=os.path.join(root, "pkl"), batch_size=1)[0]

@case("compress(None) and decompress(None) return the data")
def _():
    from streaming.base.compression import compress, decompress
    assert compress(None, b"abc") == b"abc" and decompress(None, b"abc") == b"abc"

print(json.dumps(results))
'''

# The cases where the peer raises: the peer's type, and the type we raise (ours is precise).
EXPECTED = {
    "empty index, LocalDataset": ("json.decoder.JSONDecodeError", "IndexJSONError"),
    "empty index, StreamingDataset": ("json.decoder.JSONDecodeError", "IndexJSONError"),
    "non-JSON index, LocalDataset": ("json.decoder.JSONDecodeError", "IndexJSONError"),
    "non-JSON index, StreamingDataset": ("json.decoder.JSONDecodeError", "IndexJSONError"),
    "unknown encoding given to MDSWriter": ("builtins.TypeError", "EncodingError"),
    "missing column, MDSWriter": ("builtins.KeyError", "ColumnError"),
    "str for an int column": ("builtins.AttributeError", "EncodingError"),
    "int for a str column": ("builtins.AttributeError", "EncodingError"),
    "list for an ndarray column": ("builtins.AttributeError", "EncodingError"),
    "str for a uint8 column": ("builtins.ValueError", "EncodingError"),
    "set for a json column": ("builtins.TypeError", "EncodingError"),
    "missing column, JSONWriter": ("builtins.KeyError", "ColumnError"),
    "str for an int JSON column": ("builtins.AttributeError", "EncodingError"),
    "str for a float CSV column": ("builtins.AttributeError", "EncodingError"),
    "pkl column read without allow_unsafe_types": ("builtins.ValueError", "UnsafeEncodingError"),
}

# What our message names, per case (the file, column or sample).
NAMES = {
    "empty index, LocalDataset": ["empty1/index.json", "it is empty"],
    "empty index, StreamingDataset": ["empty2/index.json", "it is empty"],
    "non-JSON index, LocalDataset": ["bad1/index.json", "not valid JSON"],
    "non-JSON index, StreamingDataset": ["bad2/index.json", "not valid JSON"],
    "unknown encoding given to MDSWriter": ["'no_such_encoding'", "column 'x'"],
    "missing column, MDSWriter": ["missing ['b']", "sample 0"],
    "str for an int column": ["column 'a'", "'int'", "sample 0"],
    "missing column, JSONWriter": ["missing ['b']"],
    "pkl column read without allow_unsafe_types": ["allow_unsafe_types=True", "'a'"],
}


@pytest.fixture(scope="module")
def outcomes(mosaic_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    ours_dir, peer_dir = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("peer")
    proc = subprocess.run(
        [sys.executable, "-c", CASES, str(ours_dir)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(run_peer(mosaic_python, CASES, str(peer_dir)))
    return json.loads(proc.stdout), theirs


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_our_error_is_also_the_peers_type(outcomes: tuple[dict, dict], case: str) -> None:
    ours, theirs = outcomes
    peer_type, our_type = EXPECTED[case]
    assert theirs[case] is not None, f"the peer raised nothing for {case!r}"
    assert theirs[case][0][0] == peer_type  # the peer's behaviour, as found in its source
    assert ours[case] is not None, f"we raised nothing for {case!r}"
    mro, message = ours[case]
    assert mro[0] == f"streaming.format.errors.{our_type}"
    assert peer_type in mro
    for part in NAMES.get(case, []):
        assert part in message


@pytest.mark.slow
def test_no_error_where_the_peer_has_none(outcomes: tuple[dict, dict]) -> None:
    ours, theirs = outcomes
    case = "compress(None) and decompress(None) return the data"
    assert theirs[case] is None and ours[case] is None
    assert set(ours) == set(theirs) == {*EXPECTED, case}


def test_json_decode_error_fields(tmp_path: Path) -> None:
    from streaming.base import LocalDataset

    (tmp_path / "index.json").write_text('{"version": 2,\n "shards": [}')
    with pytest.raises(json.JSONDecodeError) as info:
        LocalDataset(local=str(tmp_path))
    err = info.value
    assert (err.lineno, err.colno, err.pos) == (2, 13, 27)
    assert err.doc == '{"version": 2,\n "shards": [}'
    assert str(err) == (
        f"Malformed index {str(tmp_path / 'index.json')!r}: not valid JSON (Expecting value: "
        "line 2 column 13 (char 27))"
    )


def test_column_error_message_is_not_quoted_like_a_key_error() -> None:
    from streaming.format.errors import ColumnError

    err = ColumnError("Sample does not match the writer's columns")
    assert isinstance(err, KeyError)
    assert str(err) == "Sample does not match the writer's columns"
