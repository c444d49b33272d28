"""Tiny MDS datasets in each reader's layout, and samples as JSON, for comparing our readers at
the peer's paths with mosaicml-streaming's own.

`DUMP` is source code run in both venvs (ours and the peer's): it turns a sample (tensors, numpy
arrays, PIL images, bytes, tuples, dicts) into plain JSON, exactly (image pixels and array bytes
as hex, floats by their repr).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

DUMP = r'''
import json

def dump(obj):
    import numpy as np
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and isinstance(obj, torch.Tensor):
        obj = obj.numpy()
    if isinstance(obj, np.ndarray):
        return {"ndarray": str(obj.dtype), "shape": list(obj.shape), "hex": obj.tobytes().hex()}
    if hasattr(obj, "tobytes") and hasattr(obj, "mode") and hasattr(obj, "size"):
        return {"image": obj.mode, "size": list(obj.size), "hex": obj.tobytes().hex()}
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(obj).hex()}
    if isinstance(obj, tuple):
        return {"tuple": [dump(v) for v in obj]}
    if isinstance(obj, list):
        return [dump(v) for v in obj]
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return {str(k): dump(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return {"scalar": str(obj.dtype), "value": obj.item()}
    return obj

def dump_dataset(ds):
    """Every sample by index, then one epoch's iteration."""
    by_index = [dump(ds[i]) for i in range(len(ds))]
    return {"len": len(ds), "by_index": by_index, "epoch": [dump(s) for s in ds]}
'''


def _png(img: Any) -> Any:
    from PIL import Image

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return Image.open(io.BytesIO(buf.getvalue()))


def _rgb(rng: np.random.Generator, w: int, h: int) -> Any:
    from PIL import Image

    return Image.fromarray(rng.integers(0, 256, (h, w, 3), np.uint8))


def write_all(root: Path) -> dict[str, Path]:
    """Write each tiny dataset under `root`; returns reader name -> dataset directory."""
    from PIL import Image

    from streaming import MDSWriter

    rng = np.random.default_rng(7)
    out: dict[str, Path] = {}

    def writer(name: str, columns: dict[str, str]) -> MDSWriter:
        out[name] = root / name
        # A small size limit: several shards, so shuffling moves samples between shards.
        return MDSWriter(out=str(root / name), columns=columns, size_limit=1 << 10)

    with writer("cifar10", {"i": "int", "x": "pil", "y": "int"}) as w:
        for i in range(12):
            w.write({"i": i, "x": _rgb(rng, 8, 8), "y": int(rng.integers(10))})
    with writer("imagenet", {"i": "int", "x": "jpeg", "y": "int"}) as w:
        for i in range(10):
            # One grayscale image: the peer hands it to to_tensor as stored (one channel).
            img = _rgb(rng, 12, 10)
            w.write({"i": i, "x": img.convert("L") if i == 3 else img, "y": i % 4})
    with writer("ade20k", {"uid": "bytes", "x": "jpeg", "y": "png"}) as w:
        for i in range(8):
            seg = Image.fromarray(rng.integers(0, 151, (10, 12), np.uint8), mode="L")
            w.write({"uid": f"{i:08}".encode(), "x": _rgb(rng, 12, 10), "y": _png(seg)})
    coco = {
        "img": "jpeg",
        "img_id": "int",
        "htot": "int",
        "wtot": "int",
        "bbox_sizes": "ndarray:float32",
        "bbox_labels": "ndarray:int64",
    }
    with writer("coco", coco) as w:
        for i in range(8):
            n = int(rng.integers(1, 4))  # the ndarray encoding holds no empty array
            img = _rgb(rng, 16, 12)
            w.write({
                "img": img.convert("L") if i == 2 else img,  # stored gray: read back as RGB
                "img_id": 1000 + i,
                "htot": 12,
                "wtot": 16,
                "bbox_sizes": rng.random((n, 4), dtype=np.float32),
                "bbox_labels": rng.integers(1, 81, n).astype(np.int64),
            })  # fmt: skip
    bert = ["input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids",
            "masked_lm_weights", "next_sentence_labels"]  # fmt: skip
    with writer("enwiki", dict.fromkeys(bert, "bytes")) as w:
        for _ in range(9):
            seq, masked = 16, 3
            positions = np.sort(rng.choice(np.arange(1, seq), masked, replace=False))
            w.write({
                "input_ids": rng.integers(0, 30000, seq).astype(np.int32).tobytes(),
                "input_mask": np.ones(seq, np.int32).tobytes(),
                "segment_ids": (np.arange(seq) >= 8).astype(np.int32).tobytes(),
                "masked_lm_positions": positions.astype(np.int32).tobytes(),
                "masked_lm_ids": rng.integers(0, 30000, masked).astype(np.int32).tobytes(),
                "masked_lm_weights": np.ones(masked, np.float32).tobytes(),
                "next_sentence_labels": np.array([rng.integers(2)], np.int32).tobytes(),
            })  # fmt: skip
    webvid = {"videoid": "str", "name": "str", "page_idx": "str", "page_dir": "str",
              "duration": "int", "contentUrl": "str"}  # fmt: skip
    with writer("webvid_inside", {**webvid, "content": "bytes"}) as w:
        for i in range(7):
            w.write(_video_row(i) | {"content": f"video {i} ".encode() * (i + 1)})
    videos = root / "videos"
    with writer("webvid_outside", {**webvid, "content_path": "str"}) as w:
        for i in range(7):
            rel = f"{_video_row(i)['page_dir']}/{_video_row(i)['videoid']}.mp4"
            (videos / rel).parent.mkdir(parents=True, exist_ok=True)
            (videos / rel).write_bytes(f"outside video {i} ".encode() * (i + 1))
            w.write(_video_row(i) | {"content_path": rel})
    out["videos"] = videos
    return out


def _video_row(i: int) -> dict[str, Any]:
    return {
        "videoid": str(5000 + i),
        "name": f"clip {i}, a caption",
        "page_idx": str(i // 3),
        "page_dir": f"{i // 3 * 50 + 1:03}_{i // 3 * 50 + 50:03}",
        "duration": 3 * i + 1,
        "contentUrl": f"https://example.invalid/{5000 + i}.mp4",
    }
