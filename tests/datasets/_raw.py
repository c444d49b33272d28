"""Tiny, faithful replicas of each dataset's raw layout, and what a reader must give back."""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import zstandard
from PIL import Image


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (24, 16)) -> bytes:
    """A solid-color JPEG of `size` (width, height)."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", quality=95)
    return out.getvalue()


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# ---- CIFAR-10 ------------------------------------------------------------------------------


def cifar10(root: Path, per_batch: int = 3) -> dict[str, list[tuple[np.ndarray, int]]]:
    """``cifar-10-batches-py`` with bytes-keyed pickles; returns split -> [(HWC image, label)]."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    expected: dict[str, list] = {"train": [], "val": []}
    names = [("train", f"data_batch_{i}") for i in range(1, 6)] + [("val", "test_batch")]
    for split, name in names:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        obj = {
            b"batch_label": f"batch {name}".encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [f"img_{i}.png".encode() for i in range(per_batch)],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(obj, f)
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        expected[split] += list(zip(images, labels, strict=True))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"airplane"]}))
    return expected


# ---- ImageNet ------------------------------------------------------------------------------

WNIDS = ["n01440764", "n01443537", "n01484850"]
COLORS = [(250, 10, 10), (10, 250, 10), (10, 10, 250)]


def imagenet(root: Path, val_layout: str = "csv") -> dict[str, list[tuple[str, int]]]:
    """train/<wnid>/*.JPEG and val in `val_layout` (csv, devkit or folders); returns split ->
    [(file name, label)] in sorted file order."""
    expected: dict[str, list] = {"train": [], "val": []}
    for label, wnid in enumerate(WNIDS):
        for k in range(2):
            name = f"{wnid}_{k}.JPEG"
            data = jpeg(COLORS[label])
            if label == 2 and k == 1:  # ImageNet's PNG named .JPEG
                data = png(np.full((16, 24, 3), COLORS[label], np.uint8))
            write(root / "train" / wnid / name, data)
            expected["train"].append((name, label))
    val_labels = [2, 0, 1, 0]
    for i, label in enumerate(val_labels, 1):
        name = f"ILSVRC2012_val_{i:08}.JPEG"
        folder = root / "val" / WNIDS[label] if val_layout == "folders" else root / "val"
        write(folder / name, jpeg(COLORS[label]))
    if val_layout == "folders":
        expected["val"] = sorted(
            [(f"ILSVRC2012_val_{i:08}.JPEG", lab) for i, lab in enumerate(val_labels, 1)],
            key=lambda t: (WNIDS[t[1]], t[0]),
        )
        return expected
    expected["val"] = [(f"ILSVRC2012_val_{i:08}.JPEG", lab) for i, lab in enumerate(val_labels, 1)]
    if val_layout == "csv":
        rows = ["ImageId,PredictionString"] + [
            f"ILSVRC2012_val_{i:08},{WNIDS[lab]} 1 2 30 40" for i, lab in enumerate(val_labels, 1)
        ]
        write(root / "LOC_val_solution.csv", "\n".join(rows) + "\n")
    else:  # the devkit: ILSVRC2012_IDs in an order of their own, mapped by meta.mat
        from scipy.io import savemat

        ids = {WNIDS[0]: 3, WNIDS[1]: 1, WNIDS[2]: 2}
        synsets = np.zeros((3,), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O")])
        for n, (wnid, ilsvrc_id) in enumerate(ids.items()):
            synsets[n] = (ilsvrc_id, wnid, f"words {n}")
        savemat(root / "meta.mat", {"synsets": synsets})
        lines = [str(ids[WNIDS[lab]]) for lab in val_labels]
        write(root / "ILSVRC2012_validation_ground_truth.txt", "\n".join(lines) + "\n")
    return expected


# ---- ADE20K --------------------------------------------------------------------------------


def ade20k(root: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """ADEChallengeData2016 images and annotation PNGs; returns split -> [(uid, label map)]."""
    rng = np.random.default_rng(1)
    base = root / "ADEChallengeData2016"
    expected: dict[str, list] = {"train": [], "val": []}
    for split, folder, prefix, n in (
        ("train", "training", "ADE_train", 3),
        ("val", "validation", "ADE_val", 2),
    ):
        for i in range(1, n + 1):
            uid = f"{prefix}_{i:08}"
            write(base / "images" / folder / f"{uid}.jpg", jpeg((i * 40, 100, 50), (20, 12)))
            labels = rng.integers(0, 151, (12, 20), dtype=np.uint8)
            write(base / "annotations" / folder / f"{uid}.png", png(labels))
            expected[split].append((uid, labels))
    return expected


# ---- COCO ----------------------------------------------------------------------------------


def coco(root: Path) -> list[dict[str, Any]]:
    """annotations/instances_val2017.json and val2017/*.jpg; returns the expected samples."""
    images = [
        {"id": 139, "file_name": "000000000139.jpg", "height": 20, "width": 40},
        {"id": 285, "file_name": "000000000285.jpg", "height": 30, "width": 10},
        {"id": 632, "file_name": "000000000632.jpg", "height": 10, "width": 10},  # no boxes
    ]
    categories = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}]
    annotations = [
        {"id": 1, "image_id": 139, "category_id": 3, "bbox": [4.0, 2.0, 10.0, 8.0]},
        {"id": 2, "image_id": 285, "category_id": 1, "bbox": [1.0, 3.0, 5.0, 15.0]},
        {"id": 3, "image_id": 139, "category_id": 1, "bbox": [0.0, 0.0, 40.0, 20.0]},
    ]
    obj = {"images": images, "annotations": annotations, "categories": categories}
    write(root / "annotations" / "instances_val2017.json", json.dumps(obj))
    for img in images:
        write(
            root / "val2017" / img["file_name"], jpeg((90, 90, 90), (img["width"], img["height"]))
        )
    return [
        {
            "img_id": 139, "size": (20, 40), "labels": [2, 1],
            "boxes": [[0.1, 0.1, 0.35, 0.5], [0.0, 0.0, 1.0, 1.0]],
        },
        {"img_id": 285, "size": (30, 10), "labels": [1], "boxes": [[0.1, 0.1, 0.6, 0.6]]},
    ]  # fmt: skip


# ---- C4, the Pile, EnWiki -------------------------------------------------------------------


def c4(root: Path) -> dict[str, list[dict[str, str]]]:
    """en/c4-{train,validation}.*.json.gz; returns split -> documents in file order."""
    docs = {
        "train": [
            [{"text": "Beginners BBQ Class.", "timestamp": "2019-04-25T12:57:54Z", "url": "u1"}],
            [
                {"text": "Talk — ünïcode ✓", "timestamp": "2019-04-21T10:07:13Z", "url": "u2"},
                {"text": "x" * 40, "timestamp": "2019-04-22T10:07:13Z", "url": "u3"},
            ],
        ],
        "validation": [[{"text": "Val doc", "timestamp": "2019-04-23T00:00:00Z", "url": "v"}]],
    }  # fmt: skip
    for split, files in docs.items():
        total = "01024" if split == "train" else "00008"
        for i, rows in enumerate(files):
            path = root / "en" / f"c4-{split}.{i:05}-of-{total}.json.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "wt", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row) + "\n")
    return {"train": [d for f in docs["train"] for d in f], "val": docs["validation"][0]}


def zst_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    write(path, zstandard.ZstdCompressor(level=3).compress(data))


def pile(root: Path) -> dict[str, list[dict[str, Any]]]:
    """train/NN.jsonl.zst, val.jsonl.zst, test.jsonl.zst; returns split -> documents."""
    train = [
        [{"text": "It is done.", "meta": {"pile_set_name": "Pile-CC"}}],
        [
            {"text": "def f(): pass", "meta": {"pile_set_name": "Github"}},
            {"text": "Abstract: we", "meta": {"pile_set_name": "ArXiv"}},
        ],
    ]
    for i, rows in enumerate(train):
        zst_lines(root / "train" / f"{i:02}.jsonl.zst", rows)
    val = [{"text": "Val text", "meta": {"pile_set_name": "Wikipedia (en)"}}]
    test = [{"text": "Test text", "meta": {"pile_set_name": "PubMed Abstracts"}}]
    zst_lines(root / "val.jsonl.zst", val)
    zst_lines(root / "test.jsonl.zst", test)
    return {"train": [d for f in train for d in f], "val": val, "test": test}


def enwiki(root: Path) -> list[dict[str, str]]:
    """WikiExtractor output: AA/wiki_00 (<doc> blocks), AA/wiki_01.bz2, AB/wiki_00 (JSON
    lines); returns the articles in file order (redirect stubs left out)."""
    write(
        root / "AA" / "wiki_00",
        '<doc id="12" url="https://en.wikipedia.org/wiki?curid=12" title="Anarchism">\n'
        "Anarchism\n\nAnarchism is a political philosophy.\n\nIt is old.\n</doc>\n"
        '<doc id="25" url="https://en.wikipedia.org/wiki?curid=25" title="A &amp; B">\n'
        "A & B\n\nAmpersand article.\n</doc>\n"
        '<doc id="26" url="https://en.wikipedia.org/wiki?curid=26" title="Redirect">\n'
        "Redirect\n\n</doc>\n",
    )
    write(
        root / "AA" / "wiki_01.bz2",
        bz2.compress(
            b'<doc id="39" url="https://en.wikipedia.org/wiki?curid=39" title="Albedo">\n'
            b"Albedo\n\nAlbedo is reflection.\n</doc>\n"
        ),
    )
    rows = [
        {"id": "290", "revid": "1", "url": "https://x/290", "title": "A", "text": "A\n\nLetter."}
    ]
    write(root / "AB" / "wiki_00", "".join(json.dumps(r) + "\n" for r in rows))
    return [
        {"id": "12", "title": "Anarchism",
         "text": "Anarchism is a political philosophy.\n\nIt is old."},
        {"id": "25", "title": "A & B", "text": "Ampersand article."},
        {"id": "39", "title": "Albedo", "text": "Albedo is reflection."},
        {"id": "290", "title": "A", "text": "Letter."},
    ]  # fmt: skip


# ---- LAION ---------------------------------------------------------------------------------


def laion_meta(key: str, caption: str, similarity: float) -> dict[str, Any]:
    return {
        "url": f"https://img/{key}.jpg", "caption": caption, "key": key, "status": "success",
        "error_message": None, "width": 24, "height": 16, "original_width": 48,
        "original_height": 32, "exif": "{}", "sha256": "0" * 64, "NSFW": "UNLIKELY",
        "similarity": similarity, "LICENSE": "?",
    }  # fmt: skip


def laion(root: Path) -> list[dict[str, Any]]:
    """img2dataset output: 00000.tar (2 images), folder 00001/ (1 image), parquet and stats
    files; returns the expected samples in order."""
    samples = [
        ("000000000", "a red square", 0.31, (250, 0, 0)),
        ("000000001", "a green square", 0.32, (0, 250, 0)),
        ("000010000", "a blue square", 0.33, (0, 0, 250)),
    ]
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(root / "00000.tar", "w") as tar:
        for key, caption, sim, color in samples[:2]:
            for ext, data in (
                ("jpg", jpeg(color)),
                ("txt", caption.encode()),
                ("json", json.dumps(laion_meta(key, caption, sim)).encode()),
            ):
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    write(root / "00000_stats.json", json.dumps({"count": 3, "successes": 2, "failed": 1}))
    key, caption, sim, color = samples[2]
    write(root / "00001" / f"{key}.jpg", jpeg(color))
    write(root / "00001" / f"{key}.txt", caption)
    write(root / "00001" / f"{key}.json", json.dumps(laion_meta(key, caption, sim)))
    return [laion_meta(k, c, s) | {"color": col} for k, c, s, col in samples]


def laion_parquet(root: Path) -> list[dict[str, Any]]:
    """img2dataset's parquet output format: images in the ``jpg`` column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        laion_meta("000000000", "one", 0.5) | {"jpg": jpeg((200, 0, 0))},
        laion_meta("000000001", "failed", 0.1) | {"jpg": None, "status": "failed_to_download"},
        laion_meta("000000002", "two", 0.6) | {"jpg": jpeg((0, 0, 200))},
    ]
    root.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "00000.parquet")
    return [rows[0], rows[2]]


# ---- WebVid --------------------------------------------------------------------------------


def webvid(root: Path, video: bytes | None = None) -> list[dict[str, Any]]:
    """results_2M_{train,val}.csv and videos/<page_dir>/<videoid>.mp4 (one never downloaded);
    returns the expected train samples."""
    rows = [
        {"videoid": "1001", "contentUrl": "https://v/1001.mp4", "duration": "PT00H00M12S",
         "page_dir": "001_050", "name": "Aerial shot, of a lake"},
        {"videoid": "1002", "contentUrl": "https://v/1002.mp4", "duration": "PT00H01M05S",
         "page_dir": "001_050", "name": 'A "quoted"\nsecond line'},
        {"videoid": "1003", "contentUrl": "https://v/1003.mp4", "duration": "PT00H00M03S",
         "page_dir": "051_100", "name": "never downloaded"},
        {"videoid": "1004", "contentUrl": "https://v/1004.mp4", "duration": "PT01H00M00S",
         "page_dir": "051_100", "name": "Sunset"},
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, ["videoid", "contentUrl", "duration", "page_dir", "name"])
    writer.writeheader()
    writer.writerows(rows)
    write(root / "results_2M_train.csv", out.getvalue())
    val = io.StringIO()
    writer = csv.DictWriter(val, ["videoid", "contentUrl", "duration", "page_dir", "name"])
    writer.writeheader()
    writer.writerow(rows[0] | {"videoid": "2001", "name": "val clip"})
    write(root / "results_2M_val.csv", val.getvalue())
    expected = []
    for row in [rows[0], rows[1], rows[3]]:
        content = video or f"video bytes of {row['videoid']}".encode()
        write(root / "videos" / row["page_dir"] / f"{row['videoid']}.mp4", content)
        expected.append(row | {"content": content})
    write(root / "videos" / "001_050" / "2001.mp4", video or b"val video")
    return expected


def tiny_video(frames: int = 6, size: tuple[int, int] = (32, 24)) -> bytes:
    """A real MPEG-4 clip whose frame k is filled with gray level 40 * k (needs PyAV)."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for k in range(frames):
            arr = np.full((size[1], size[0], 3), 40 * k, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def tree(root: Path) -> list[str]:
    """Every file under `root`, relative, sorted (for comparing outputs)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
