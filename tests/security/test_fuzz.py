"""Hostile datasets, fuzzed: only our `FormatError`s come out, within time and memory bounds.

A child process (so that its limits bind it alone) builds one dataset per compression (none,
br, bz2, gz, snappy, zstd) with a column of every MDS encoding but ``pkl`` (unpickling mutated
bytes could run code, which is why ``pkl`` needs ``allow_unsafe_types``), plus JSONL and CSV
datasets, and then, for each example hypothesis draws: copies one, flips bits in a shard file,
truncates it, or declares oversized sizes in index.json, and reads every sample with
``validate_hash`` on or off; and flips bits in and truncates each encoding's own bytes (where
flips in whole shards rarely land). Anything but a `FormatError` fails the example; so does
``FileNotFoundError`` unless the index was mutated (it may then name a file that is not there).

Bounds: ``RLIMIT_AS`` of 3 GiB on the child, an alarm of 5 s per example, and the child's peak
RSS (``VmHWM``) must stay under 1 GiB: a size read from corrupt bytes and believed, or a
bomb, would pass one of them. Hypothesis is derandomized, so CI sees the same examples.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 3 << 30  # RLIMIT_AS of the child
PEAK_RSS_LIMIT = 1 << 30
EXAMPLE_SECONDS = 5


def test_fuzzed_datasets_raise_only_format_errors(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, __file__, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    examples, peak = proc.stdout.split()[-2:]
    assert int(examples) >= 700
    assert int(peak) < PEAK_RSS_LIMIT


# -- the child ------------------------------------------------------------------------------------


def _child(root: str) -> None:  # noqa: C901 - one self-contained fuzz run
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    import contextlib
    import decimal
    import io
    import json
    import shutil
    import signal
    import tempfile

    import numpy as np
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from PIL import Image

    from streaming.format import CSVWriter, JSONWriter, MDSWriter
    from streaming.format.errors import FormatError
    from streaming.format.mds.encodings import get_mds_encodings, mds_decode, mds_encode
    from streaming.local import LocalDataset

    image = Image.new("RGB", (4, 3), (10, 20, 30))
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG")
    values = {
        "bytes": b"\x00\x01raw",
        "str": "héllo",
        "int": -5,
        **{name: 7 for name in ("uint8", "uint16", "uint32", "uint64")},
        **{name: -7 for name in ("int8", "int16", "int32", "int64")},
        **{name: 1.5 for name in ("float16", "float32", "float64")},
        "str_int": 10**20,
        "str_float": 2.5,
        "str_decimal": decimal.Decimal("1.10"),
        "ndarray": np.arange(6, dtype=np.int32).reshape(2, 3),
        "pil": image,
        "jpeg": image,
        "png": image,
        "list[pil]": [image, image],
        "list[jpeg]": [image],
        "list[png]": [image],
        "jpeg_array": [jpeg.getvalue()],
        "jpegarray": [jpeg.getvalue()],
        "json": {"a": [1, None]},
    }
    columns = {name.replace("[", "_").replace("]", ""): name for name in values}
    missing = get_mds_encodings() - set(values) - {"pkl"}
    assert not missing, f"no fuzz value for {missing}"

    templates = []
    for compression in (None, "br", "bz2", "gz", "snappy", "zstd"):
        out = os.path.join(root, f"mds-{compression}")
        with MDSWriter(
            out=out, columns=columns, compression=compression, hashes=["xxh64"], size_limit=3000
        ) as writer:
            for _ in range(4):
                writer.write({col: values[enc] for col, enc in columns.items()})
        templates.append(out)
    rows = [{"a": f"s{i}", "n": i, "x": i / 2} for i in range(6)]
    for cls, compression in ((JSONWriter, "zstd"), (CSVWriter, "gz")):
        out = os.path.join(root, cls.__name__)
        with cls(
            out=out,
            columns={"a": "str", "n": "int", "x": "float"},
            compression=compression,
            hashes=["xxh64"],
            size_limit=60,
        ) as writer:
            for row in rows:
                writer.write(row)
        templates.append(out)
    for path in templates:  # each reads back whole before any mutation
        assert len(list(LocalDataset(path, validate_hash="xxh64"))) in (4, 6)

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"an example ran for more than {EXAMPLE_SECONDS} s")

    signal.signal(signal.SIGALRM, alarm)
    count = [0]

    def read_all(path: str, validate_hash: str | None) -> None:
        signal.setitimer(signal.ITIMER_REAL, EXAMPLE_SECONDS)
        try:
            for _ in LocalDataset(path, validate_hash=validate_hash):
                pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    @contextlib.contextmanager
    def copy(template: str):
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            work = os.path.join(tmp, "ds")
            shutil.copytree(template, work)
            yield work

    def shard_files(path: str) -> list[str]:
        return sorted(n for n in os.listdir(path) if n != "index.json")

    edit = st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 7)),
        st.tuples(st.just("truncate"), st.integers(0, 1 << 20)),
    )
    oversized = st.one_of(
        st.sampled_from([2**31, 2**32 - 1, 2**32, 2**40, 2**63 - 1, 2**63, 2**64]),
        st.integers(0, 2**64),
    )
    field = st.sampled_from(
        ["raw_data.bytes", "zip_data.bytes", "raw_meta.bytes", "samples", "column_sizes"]
    )
    fuzz = settings(
        derandomize=True,
        deadline=None,
        database=None,
        max_examples=250,
        suppress_health_check=list(HealthCheck),
    )

    @fuzz
    @given(
        st.sampled_from(range(len(templates))),
        st.integers(0, 1 << 10),
        st.lists(edit, min_size=1, max_size=3),
        st.sampled_from([None, "xxh64"]),
    )
    def mutated_shard_files(which: int, pick: int, edits: list, validate_hash: str | None) -> None:
        count[0] += 1
        with copy(templates[which]) as work:
            names = shard_files(work)
            path = os.path.join(work, names[pick % len(names)])
            with open(path, "rb") as f:
                data = bytearray(f.read())
            for kind, at, *rest in edits:
                if kind == "flip" and data:
                    data[at % len(data)] ^= 1 << rest[0]
                elif kind == "truncate":
                    del data[at % (len(data) + 1) :]
            with open(path, "wb") as f:
                f.write(data)
            try:
                read_all(work, validate_hash)
            except FormatError:
                pass

    @fuzz
    @given(
        st.sampled_from(range(len(templates))),
        st.integers(0, 1 << 10),
        field,
        oversized,
        st.sampled_from([None, "xxh64"]),
    )
    def oversized_declared_sizes(
        which: int, pick: int, key: str, size: int, validate_hash: str | None
    ) -> None:
        count[0] += 1
        with copy(templates[which]) as work:
            index_path = os.path.join(work, "index.json")
            with open(index_path, "rb") as f:
                index = json.loads(f.read())
            shard = index["shards"][pick % len(index["shards"])]
            part, _, sub = key.partition(".")
            if part == "column_sizes":
                sizes = shard.get("column_sizes")
                if sizes:
                    sizes[pick % len(sizes)] = size
            elif sub and shard.get(part):
                shard[part][sub] = size
            elif not sub:
                shard[part] = size
            with open(index_path, "w") as f:
                json.dump(index, f)
            try:
                read_all(work, validate_hash)
            except (FormatError, FileNotFoundError):
                pass

    encodings = sorted(values)

    @fuzz
    @given(st.sampled_from(encodings), st.lists(edit, min_size=1, max_size=3))
    def mutated_values(encoding: str, edits: list) -> None:
        """Every encoding's own bytes, mutated, decode or raise an EncodingError."""
        count[0] += 1
        data = bytearray(mds_encode(encoding, values[encoding]))
        for kind, at, *rest in edits:
            if kind == "flip" and data:
                data[at % len(data)] ^= 1 << rest[0]
            elif kind == "truncate":
                del data[at % (len(data) + 1) :]
        signal.setitimer(signal.ITIMER_REAL, EXAMPLE_SECONDS)
        try:
            mds_decode(encoding, bytes(data))  # jpeg and png pixels decode lazily, in PIL
        except FormatError:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    mutated_values()
    mutated_shard_files()
    oversized_declared_sizes()
    # VmHWM is this process image's own peak RSS. ru_maxrss is not: Linux carries the parent's
    # peak over fork and exec, so in a long pytest run it reported the test runner's size.
    with open("/proc/self/status") as f:
        peak_kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(count[0], peak_kib * 1024)


if __name__ == "__main__":
    _child(sys.argv[1])
