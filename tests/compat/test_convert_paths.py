"""The convert scripts at mosaicml-streaming's paths: its command-line options, its MDS columns,
and (where the peer's own script runs offline) the same samples as the peer's script writes.

The replicas are tests/datasets' tiny raw layouts. Peer runs: crawl_webvid (videos served by a
loopback HTTP server), extract_webvid_videos, pile and enwiki_text; the others cannot run here
(CIFAR-10 and C4 download, ADE20K checks the full dataset's counts, LAION needs pyarrow in the
peer's venv), so their columns are checked against the peer's scripts' declared columns.
"""

from __future__ import annotations

import csv
import functools
import importlib
import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.datasets import _raw

REPO = Path(__file__).resolve().parents[2]

# Each script's MDS columns, as the peer's script declares them.
PEER_COLUMNS = {
    "vision.convert.cifar10": {"i": "int", "x": "pil", "y": "int"},
    "vision.convert.fake_cifar10": {"i": "int", "x": "pil", "y": "int"},
    "vision.convert.imagenet": {"i": "int", "x": "jpeg", "y": "int"},
    "vision.convert.ade20k": {"uid": "bytes", "x": "jpeg", "y": "png"},
    "vision.convert.coco": {"img": "jpeg", "img_id": "int", "htot": "int", "wtot": "int",
                            "bbox_sizes": "ndarray:float32", "bbox_labels": "ndarray:int64"},
    "text.convert.c4": {"text": "str", "timestamp": "str", "url": "str"},
    "text.convert.pile": {"text": "str", "pile_set_name": "str"},
    "text.convert.enwiki_text": {"text": "str"},
    "multimodal.convert.laion.laion400m.convert_and_upload": {
        "nsfw": "str", "similarity": "float64", "license": "str", "caption": "str", "url": "str",
        "key": "str", "status": "str", "error_message": "str", "width": "int32",
        "height": "int32", "original_width": "int32", "original_height": "int32", "exif": "str",
        "jpg": "bytes"},
    "multimodal.convert.webvid.crawl_webvid": {
        "videoid": "str", "name": "str", "page_idx": "str", "page_dir": "str", "duration": "int",
        "contentUrl": "str", "content": "bytes"},
    "multimodal.convert.webvid.crawl_webvid_subsets": {
        "videoid": "str", "name": "str", "page_dir": "str", "duration": "int",
        "contentUrl": "str", "content": "bytes"},
    "multimodal.convert.webvid.extract_webvid_videos": {
        "videoid": "str", "name": "str", "page_idx": "str", "page_dir": "str", "duration": "int",
        "contentUrl": "str", "content_path": "str"},
}  # fmt: skip

# Options our scripts add to the peer's: C4 reads a local copy instead of the hub.
EXTRA_OPTIONS = {"text.convert.c4": {"--in_root"}}


def columns(split_dir: Path) -> dict[str, str]:
    """The columns of the dataset at `split_dir` (every shard must agree)."""
    index = json.loads((split_dir / "index.json").read_text())
    found = {
        json.dumps(dict(zip(s["column_names"], s["column_encodings"], strict=True)))
        for s in index["shards"]
    }
    assert len(found) == 1, found
    return json.loads(found.pop())


def samples(split_dir: Path) -> list[dict[str, Any]]:
    """Every sample of the dataset at `split_dir`, in index order, images as their pixels."""
    import numpy as np

    from streaming import StreamingDataset

    ds = StreamingDataset(local=str(split_dir), batch_size=1)
    out = []
    for i in range(ds.num_samples):
        row = {}
        for k, v in ds[i].items():
            if hasattr(v, "mode") and hasattr(v, "tobytes"):
                v = (v.mode, v.size, v.tobytes())
            elif isinstance(v, np.ndarray):
                v = (str(v.dtype), v.shape, v.tobytes())
            row[k] = v
        out.append(row)
    return out


def run_ours(module: str, argv: list[str]) -> None:
    mod = importlib.import_module(f"streaming.{module}")
    if hasattr(mod, "parse_args"):
        mod.main(mod.parse_args(argv))
    else:
        mod.main(argv)


def run_peer_module(python: Path, module: str, *argv: str) -> None:
    proc = subprocess.run([str(python), "-m", f"streaming.{module}", *argv],
                          capture_output=True, text=True, cwd="/", timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("module", sorted(PEER_COLUMNS))
def test_options_are_the_peers(
    module: str, mosaic_python: Path, capsys: pytest.CaptureFixture
) -> None:
    source = (mosaic_python.parents[1] / "lib" / "python3.11" / "site-packages" / "streaming"
              / (module.replace(".", "/") + ".py")).read_text()  # fmt: skip
    peer = set(re.findall(r"""['"](--[a-z0-9_]+)['"]""", source))
    with pytest.raises(SystemExit) as exit_info:
        run_ours(module, ["--help"])
    assert exit_info.value.code == 0
    ours = set(re.findall(r"(--[a-z0-9_]+)", capsys.readouterr().out)) - {"--help"}
    assert peer and ours == peer | EXTRA_OPTIONS.get(module, set())


@pytest.mark.slow
def test_cifar10(tmp_path: Path) -> None:
    expected = _raw.cifar10(tmp_path / "raw", per_batch=3)
    argv = ["--in_root", str(tmp_path / "raw"), "--out_root", str(tmp_path / "out")]
    run_ours("vision.convert.cifar10", [*argv, "--progress_bar", "0"])
    for split in ("train", "val"):
        assert columns(tmp_path / "out" / split) == PEER_COLUMNS["vision.convert.cifar10"]
        got = samples(tmp_path / "out" / split)
        assert [s["i"] for s in got] == list(range(len(expected[split])))
        assert [(s["x"][2], s["y"]) for s in got] == [
            (image.tobytes(), label) for image, label in expected[split]
        ]


@pytest.mark.slow
def test_imagenet_ade20k_coco(tmp_path: Path) -> None:
    _raw.imagenet(tmp_path / "imagenet")
    _raw.ade20k(tmp_path / "ade20k")
    _raw.coco(tmp_path / "coco")
    for name, splits in (("imagenet", ["train", "val"]), ("ade20k", ["train", "val"]),
                         ("coco", ["val"])):  # fmt: skip
        module = f"vision.convert.{name}"
        run_ours(module, ["--in_root", str(tmp_path / name), "--out_root",
                          str(tmp_path / f"{name}-out"), "--progress_bar", "0"])  # fmt: skip
        for split in splits:
            assert columns(tmp_path / f"{name}-out" / split) == PEER_COLUMNS[module]
    uids = [s["uid"] for s in samples(tmp_path / "ade20k-out" / "val")]
    assert uids == [b"00000001", b"00000002"]  # the peer's uid: the file's last 8 characters


def test_c4(tmp_path: Path) -> None:
    expected = _raw.c4(tmp_path / "raw")
    run_ours("text.convert.c4", ["--in_root", str(tmp_path / "raw" / "en"), "--out_root",
                                 str(tmp_path / "out"), "--progress_bar", "0"])  # fmt: skip
    for split in ("train", "val"):
        assert columns(tmp_path / "out" / split) == PEER_COLUMNS["text.convert.c4"]
        assert samples(tmp_path / "out" / split) == expected[split]
    index = json.loads((tmp_path / "out" / "train" / "index.json").read_text())
    assert {s["compression"] for s in index["shards"]} == {"zstd:7"}  # the peer's default
    assert {tuple(s["hashes"]) for s in index["shards"]} == {("sha1", "xxh64")}


def test_laion400m(tmp_path: Path) -> None:
    _raw.laion(tmp_path / "raw")
    run_ours("multimodal.convert.laion.laion400m.convert_and_upload",
             ["--local", str(tmp_path / "raw"), "--remote", str(tmp_path / "out")])  # fmt: skip
    module = "multimodal.convert.laion.laion400m.convert_and_upload"
    assert columns(tmp_path / "out") == PEER_COLUMNS[module]  # at --remote, as the peer's
    got = samples(tmp_path / "out")
    assert got and all(s["jpg"][:2] == b"\xff\xd8" for s in got)  # the JPEG file's bytes


# ---- against the peer's own scripts --------------------------------------------------------


@pytest.fixture
def video_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server over tmp_path/served; yields (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def _webvid_csv(path: Path, base: str, served: Path) -> None:
    rows = []
    for i in range(5):
        videoid = str(7000 + i)
        if i != 3:  # video 3 is not served: both scripts skip its row
            (served / f"{videoid}.mp4").write_bytes(f"mp4 {i} ".encode() * (10 + i))
        rows.append({"videoid": videoid, "contentUrl": f"{base}/{videoid}.mp4",
                     "duration": f"PT00H00M{10 + i:02}S", "page_idx": str(i // 2),
                     "page_dir": f"{i // 2:03}_x", "name": f"clip {i}, with a comma"})  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue())


def _by_videoid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["videoid"])


@pytest.mark.slow
def test_webvid_crawl_and_extract_match_the_peer(
    tmp_path: Path, mosaic_python: Path, video_server: tuple[str, Path]
) -> None:
    base, served = video_server
    csv_path = tmp_path / "webvid.csv"
    _webvid_csv(csv_path, base, served)
    crawl = "multimodal.convert.webvid.crawl_webvid"
    run_peer_module(mosaic_python, crawl, "--in", str(csv_path), "--out_root",
                    str(tmp_path / "peer"), "--num_procs", "2")  # fmt: skip
    run_ours(crawl, ["--in", str(csv_path), "--out_root", str(tmp_path / "ours")])
    assert columns(tmp_path / "ours") == columns(tmp_path / "peer") == PEER_COLUMNS[crawl]
    ours = samples(tmp_path / "ours")
    assert [s["videoid"] for s in ours] == ["7000", "7001", "7002", "7004"]  # the CSV's order
    assert ours == _by_videoid(samples(tmp_path / "peer"))  # the peer's order is its downloads'

    extract = "multimodal.convert.webvid.extract_webvid_videos"
    for who in ("peer", "ours"):
        argv = ["--in", str(tmp_path / "ours"), "--out_mds", str(tmp_path / f"{who}-outside"),
                "--out_mp4", str(tmp_path / f"{who}-mp4")]  # fmt: skip
        if who == "peer":
            run_peer_module(mosaic_python, extract, *argv)
        else:
            run_ours(extract, argv)
    assert columns(tmp_path / "ours-outside") == columns(tmp_path / "peer-outside")
    assert samples(tmp_path / "ours-outside") == samples(tmp_path / "peer-outside")
    assert _raw.tree(tmp_path / "ours-mp4") == _raw.tree(tmp_path / "peer-mp4")
    for rel in _raw.tree(tmp_path / "ours-mp4"):
        assert (tmp_path / "ours-mp4" / rel).read_bytes() == (
            tmp_path / "peer-mp4" / rel
        ).read_bytes()


def test_readme_webvid_command(tmp_path: Path, video_server: tuple[str, Path]) -> None:
    """``python -m streaming.multimodal.convert.webvid --in <CSV file> --out <MDS output
    directory>``, as the peer's README writes it (the peer's own package cannot run it)."""
    base, served = video_server
    csv_path = tmp_path / "webvid.csv"
    _webvid_csv(csv_path, base, served)
    proc = subprocess.run(
        [sys.executable, "-m", "streaming.multimodal.convert.webvid", "--in", str(csv_path),
         "--out", str(tmp_path / "mds")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "4 samples" in proc.stderr and "1 raw records skipped" in proc.stderr
    got = samples(tmp_path / "mds")
    assert [s["content"] for s in got] == [
        (served / f"{v}.mp4").read_bytes() for v in ("7000", "7001", "7002", "7004")
    ]
    assert [(s["duration"], s["page_idx"]) for s in got] == [(10, "0"), (11, "0"), (12, "1"),
                                                              (14, "2")]  # fmt: skip


def _write_pile(pile: Path) -> None:
    rows = [
        {"text": f"doc {i}", "meta": {"pile_set_name": ["Github", "ArXiv"][i % 2]}}
        for i in range(7)
    ]
    for rel, part in (
        ("train/00.jsonl", rows[:3]),
        ("train/01.jsonl", rows[3:5]),
        ("val.jsonl", rows[5:6]),
        ("test.jsonl", rows[6:]),
    ):
        _raw.write(pile / rel, "".join(json.dumps(r) + "\n" for r in part))


def _write_wiki(wiki: Path) -> None:
    for i in range(500):  # the peer opens all 500 parts
        text = f"article {i}\n\n  second {i}  \n" if i < 3 else ""
        _raw.write(wiki / f"part-{i:05}-of-00500", text)
    _raw.write(wiki / "eval.txt", "eval one\neval two\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    "module,write,splits",
    [
        ("text.convert.pile", _write_pile, ("train", "val", "test")),
        ("text.convert.enwiki_text", _write_wiki, ("train", "val")),
    ],
    ids=["pile", "enwiki_text"],
)
def test_text_scripts_match_the_peer(
    tmp_path: Path, mosaic_python: Path, module: str, write: Any, splits: tuple[str, ...]
) -> None:
    write(tmp_path / "raw")
    argv = ["--in_root", str(tmp_path / "raw"), "--size_limit", "200"]  # default compressions
    run_peer_module(mosaic_python, module, *argv, "--out_root", str(tmp_path / "peer"))
    run_ours(module, [*argv, "--out_root", str(tmp_path / "ours")])
    for split in splits:
        ours, peer = tmp_path / "ours" / split, tmp_path / "peer" / split
        assert columns(ours) == columns(peer) == PEER_COLUMNS[module]
        assert samples(ours) == samples(peer), split
        assert len(samples(ours)) >= 1


def test_text_and_multimodal_scripts_start_without_torch() -> None:
    """The reader packages import their readers on first use: a convert script does not pay
    for torch (the vision scripts do: streaming.vision holds the device image pipeline)."""
    modules = ["streaming.text.convert.c4", "streaming.text.convert.pile",
               "streaming.text.convert.enwiki_text", "streaming.multimodal.convert.webvid.__main__",
               "streaming.multimodal.convert.webvid.extract_webvid_videos",
               "streaming.multimodal.convert.laion.laion400m.convert_and_upload"]  # fmt: skip
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
    code += "print(sorted(m for m in sys.modules if m == 'torch'))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


PAIRS = r"""
import sys
import numpy as np
from PIL import Image
from streaming.vision.convert import base
np.random.seed(1)
pairs = [(Image.fromarray(np.full((4, 5, 3), 20 * k, np.uint8)), k % 3) for k in range(6)]
base.convert_image_class_dataset(pairs, sys.argv[1], "val", compression="zstd",
                                 hashes=["sha1"], size_limit=300, progress_bar=False,
                                 encoding="png")
"""


@pytest.mark.slow
def test_convert_image_class_dataset_matches_the_peer(tmp_path: Path, mosaic_python: Path) -> None:
    from tests.peers.runner import run_peer

    run_peer(mosaic_python, PAIRS, str(tmp_path / "peer"))
    argv = sys.argv
    try:
        sys.argv = ["-c", str(tmp_path / "ours")]
        exec(PAIRS, {"__name__": "ours"})
    finally:
        sys.argv = argv
    ours, peer = tmp_path / "ours" / "val", tmp_path / "peer" / "val"
    assert columns(ours) == columns(peer) == {"i": "int", "x": "png", "y": "int"}
    assert samples(ours) == samples(peer)  # the same seeded permutation
    assert sorted(s["i"] for s in samples(ours)) == list(range(6))
    assert len(json.loads((ours / "index.json").read_text())["shards"]) > 1


def test_fake_cifar10(tmp_path: Path) -> None:
    """The peer's own script stops at its first numpy label; ours writes what it meant to."""
    import numpy as np

    from streaming.vision.convert import fake_cifar10

    np.random.seed(0)
    fake_cifar10.main(fake_cifar10.parse_args(["--out", str(tmp_path), "--num_train", "9",
                                               "--num_val", "4"]))  # fmt: skip
    np.random.seed(0)
    x_train = np.random.randint(0, 255, (9, 32, 32, 3), np.uint8)
    y_train = np.random.randint(0, 9, 9)
    got = samples(tmp_path / "train")
    assert columns(tmp_path / "train") == PEER_COLUMNS["vision.convert.fake_cifar10"]
    assert [(s["i"], s["x"][2], s["y"]) for s in sorted(got, key=lambda s: s["i"])] == [
        (i, x_train[i].tobytes(), int(y_train[i])) for i in range(9)
    ]
    assert len(samples(tmp_path / "val")) == 4


@pytest.mark.slow
def test_webvid_subsets_match_the_peer(
    tmp_path: Path, mosaic_python: Path, video_server: tuple[str, Path], capsys: Any
) -> None:
    base, served = video_server
    csv_path = tmp_path / "webvid.csv"
    _webvid_csv(csv_path, base, served)  # names "clip 0, with a comma" ... "clip 4, ..."
    text = csv_path.read_text().replace("clip 1,", "cat clip 1,").replace("clip 2,", "dog cat 2,")
    csv_path.write_text(text.replace("clip 3,", "dog 3,").replace("clip 4,", "dog 4,"))
    module = "multimodal.convert.webvid.crawl_webvid_subsets"
    argv = ["--csv", str(csv_path), "--filters", "cat,dog", "--num_procs", "2"]
    run_peer_module(mosaic_python, module, *argv, "--mds_root", str(tmp_path / "peer"))
    capsys.readouterr()
    run_ours(module, [*argv, "--mds_root", str(tmp_path / "ours")])
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == ['Subset "cat": 2 samples', 'Subset "dog": 2 samples']  # 3: no video
    assert printed[2] == "Epoch 0:" and len(printed) == 2 + 3 * 51
    for name, ids in (("cat", ["7001", "7002"]), ("dog", ["7002", "7004"])):
        ours, peer = tmp_path / "ours" / name, tmp_path / "peer" / name
        assert columns(ours) == columns(peer) == PEER_COLUMNS[module]
        assert [s["videoid"] for s in samples(ours)] == ids
        assert samples(ours) == _by_videoid(samples(peer))
