"""mosaicml-streaming's README runs unchanged against this library.

`README` below is a copy of the code blocks of mosaicml-streaming 0.13's README, in their order;
the test extracts them and runs each as written: the MDSWriter example (10,000 PIL images as
JPEG, zstd), the upload to ``s3://my-bucket`` (against a loopback moto S3 server; the ``aws s3
cp --recursive`` line is carried out file by file with boto3, the same requests, since the AWS
CLI is not part of our dependencies), the StreamingDataset example (``dataset[1337]``, a plain
``DataLoader(dataset)`` without batch_size), and the WebVid import and convert command.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.peers.runner import run_peer
from tests.storage.s3.fixtures import moto, moto_env  # noqa: F401 (fixtures)
from tests.storage.s3.server import s3_client

REPO = Path(__file__).resolve().parents[2]

README = """
```python
import numpy as np
from PIL import Image
from streaming import MDSWriter

# Local or remote directory in which to store the compressed output files
data_dir = 'path-to-dataset'

# A dictionary mapping input fields to their data types
columns = {
    'image': 'jpeg',
    'class': 'int'
}

# Shard compression, if any
compression = 'zstd'

# Save the samples as shards using MDSWriter
with MDSWriter(out=data_dir, columns=columns, compression=compression) as out:
    for i in range(10000):
        sample = {
            'image': Image.fromarray(np.random.randint(0, 256, (32, 32, 3), np.uint8)),
            'class': np.random.randint(10),
        }
        out.write(sample)
```

```bash
$ aws s3 cp --recursive path-to-dataset s3://my-bucket/path-to-dataset
```

```python
from torch.utils.data import DataLoader
from streaming import StreamingDataset

# Remote path where full dataset is persistently stored
remote = 's3://my-bucket/path-to-dataset'

# Local working dir where dataset is cached during operation
local = '/tmp/path-to-dataset'

# Create streaming dataset
dataset = StreamingDataset(local=local, remote=remote, shuffle=True)

# Let's see what is in sample #1337...
sample = dataset[1337]
img = sample['image']
cls = sample['class']

# Create PyTorch DataLoader
dataloader = DataLoader(dataset)
```

```bash
$ python -m streaming.multimodal.convert.webvid --in <CSV file> --out <MDS output directory>
```

```python
from streaming.multimodal import StreamingInsideWebVid
dataset = StreamingInsideWebVid(local=local, remote=remote, shuffle=True)
```

```python
dataset = StreamingDataset(...)
sample = dataset[19543]
```

```python
dataset = StreamingDataset(...)
dl = DataLoader(dataset, num_workers=...)
```
"""

BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)
CACHE = "/tmp/path-to-dataset"  # the README's local directory

PEER_ORDER = r"""
import hashlib, json, sys
from torch.utils.data import DataLoader
from streaming import StreamingDataset
dataset = StreamingDataset(local=sys.argv[1], shuffle=True, batch_size=1)  # it requires one
dataloader = DataLoader(dataset, collate_fn=lambda batch: batch[0])
print(json.dumps([[int(s["class"]), hashlib.sha1(s["image"].tobytes()).hexdigest()]
                  for s in dataloader]))
"""


def block(n: int) -> tuple[str, str]:
    """The README's `n`-th code block: (language, code)."""
    return BLOCKS[n]


def shell_words(code: str) -> list[str]:
    line = code.strip()
    assert line.startswith("$ ")
    return line[2:].split()


def expected_samples(count: int) -> list[tuple[int, Any]]:
    """What the MDSWriter example writes after ``np.random.seed(0)``: (class, image array)."""
    rng_state = np.random.get_state()
    np.random.seed(0)
    out = [
        (0, np.random.randint(0, 256, (32, 32, 3), np.uint8), np.random.randint(10))
        for _ in range(count)
    ]
    np.random.set_state(rng_state)
    return [(int(c), img) for _, img, c in out]


@pytest.fixture
def readme_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in a fresh working directory; the README's /tmp cache directory starts empty."""
    monkeypatch.chdir(tmp_path)
    shutil.rmtree(CACHE, ignore_errors=True)
    yield tmp_path
    shutil.rmtree(CACHE, ignore_errors=True)


@pytest.mark.slow
def test_readme_examples_run_unchanged(
    readme_dirs: Path,
    moto: Any,  # noqa: F811 (the fixture imported above)
    mosaic_python: Path,
) -> None:
    assert [lang for lang, _ in BLOCKS] == ["python", "bash", "python", "bash", "python",
                                            "python", "python"]  # fmt: skip
    scope: dict[str, Any] = {}

    # 1. Prepare the data: the writer example, as written.
    np.random.seed(0)
    exec(compile(block(0)[1], "README block 1", "exec"), scope)
    index = json.loads((readme_dirs / "path-to-dataset" / "index.json").read_text())
    assert sum(s["samples"] for s in index["shards"]) == 10000
    assert {s["compression"] for s in index["shards"]} == {"zstd"}

    # 2. Upload: aws s3 cp --recursive SRC s3://BUCKET/PREFIX, one PUT per file.
    words = shell_words(block(1)[1])
    assert words[:4] == ["aws", "s3", "cp", "--recursive"]
    src, dst = words[4], words[5]
    bucket, _, prefix = dst.removeprefix("s3://").partition("/")
    client = s3_client(moto.endpoint)
    client.create_bucket(Bucket=bucket)
    for path in sorted(Path(src).rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(src).as_posix()}")

    # 3. Stream it: the dataset, sample #1337 and a plain DataLoader, as written.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(block(2)[1], "README block 3", "exec"), scope)
        expected = expected_samples(10000)
        cls, img = scope["cls"], scope["img"]
        assert cls == expected[1337][0] and isinstance(cls, int)
        assert (img.mode, img.size) == ("RGB", (32, 32))
        assert np.array_equal(np.asarray(img), _jpeg_roundtrip(expected[1337][1]))
        dataloader = scope["dataloader"]
        assert dataloader.batch_size == 1
        # The README only builds the DataLoader: its default collate cannot batch PIL images
        # (nor can the peer's), so iterate it handing out each sample as is.
        dataloader.collate_fn = lambda batch: batch[0]
        ours = [
            [int(s["class"]), hashlib.sha1(s["image"].tobytes()).hexdigest()] for s in dataloader
        ]
    batch_warnings = [w for w in caught if "without `batch_size`" in str(w.message)]
    assert len(batch_warnings) == 1, [str(w.message) for w in caught]
    assert "using 1" in str(batch_warnings[0].message)
    assert len(os.listdir(CACHE)) > 1  # shards were fetched from S3 into the README's cache

    # The same epoch as mosaicml-streaming's, sample for sample.
    peer = json.loads(run_peer(mosaic_python, PEER_ORDER, str(readme_dirs / "path-to-dataset")))
    assert ours == peer
    assert sorted(c for c, _ in ours) == sorted(c for c, _ in expected)

    # 4. The WebVid reader, as written, with the README's local and remote (the same dataset).
    exec(compile(block(4)[1], "README block 5", "exec"), scope)
    assert type(scope["dataset"]).__name__ == "StreamingInsideWebVid"
    assert scope["dataset"][1337]["class"] == expected[1337][0]


def test_readme_convert_command_runs(tmp_path: Path) -> None:
    """The WebVid convert command of the README, its placeholders filled in."""
    words = shell_words(block(3)[1])
    assert " ".join(words) == ("python -m streaming.multimodal.convert.webvid --in <CSV file> "
                               "--out <MDS output directory>")  # fmt: skip
    csv_file = tmp_path / "results_2M_val.csv"
    csv_file.write_text(
        "videoid,contentUrl,duration,page_dir,name\n"
        "31,https://example.invalid/31.mp4,PT00H00M07S,001_050,first clip\n"
        '32,https://example.invalid/32.mp4,PT00H01M00S,001_050,"second, clip"\n'
    )
    for videoid in ("31", "32"):  # downloaded already: nothing is fetched
        video = tmp_path / "videos" / "001_050" / f"{videoid}.mp4"
        video.parent.mkdir(parents=True, exist_ok=True)
        video.write_bytes(f"video {videoid}".encode())
    filled = {"<CSV file>": csv_file.name, "<MDS output directory>": "mds"}  # relative paths
    line = " ".join(words)
    for placeholder, value in filled.items():
        line = line.replace(placeholder, value)
    argv = [sys.executable, *line.split()[1:]]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # run from the data's folder
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    from streaming import StreamingDataset

    ds = StreamingDataset(local=str(tmp_path / "mds"), batch_size=1)
    assert [
        (ds[i]["videoid"], ds[i]["name"], ds[i]["duration"], ds[i]["content"]) for i in range(2)
    ] == [("31", "first clip", 7, b"video 31"), ("32", "second, clip", 60, b"video 32")]


def _jpeg_roundtrip(array: np.ndarray) -> np.ndarray:
    """The pixels the 'jpeg' encoding gives back for `array`."""
    from PIL import Image

    from streaming.format.mds.encodings import get_coder

    coder = get_coder("jpeg")
    return np.asarray(coder.decode(coder.encode(Image.fromarray(array))))
