"""`StreamingImages`: the generic image column option, for any MDS dataset with images."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from PIL import Image

from streaming import MDSWriter
from streaming.datasets import StreamingImages


def test_hands_out_bytes_or_images(tmp_path: Path) -> None:
    encoded = []
    with MDSWriter(out=str(tmp_path), columns={"photo": "jpeg", "mask": "png", "k": "int"}) as w:
        for i in range(6):
            buf = io.BytesIO()
            Image.new("RGB", (10 + i, 8), (i * 30, 0, 0)).save(buf, format="JPEG")
            encoded.append(buf.getvalue())
            w.write({"photo": buf.getvalue(), "mask": Image.new("L", (4, 4), i), "k": i})
    raw = StreamingImages(local=str(tmp_path), image_columns=["photo"], decode="none",
                          with_sample_id=True, batch_size=2)  # fmt: skip
    sample = raw[3]
    assert sample["photo"] == encoded[3] and sample["sample_id"] == 3 and sample["k"] == 3
    assert isinstance(sample["mask"], Image.Image)  # not an image column: decoded
    batch = next(iter(torch.utils.data.DataLoader(raw, batch_size=2, collate_fn=list)))
    assert [s["sample_id"] for s in batch] == [0, 1]
    decoded = StreamingImages(local=str(tmp_path), image_columns=("photo",), batch_size=2)
    assert decoded[5]["photo"].size == (15, 8)
    with pytest.raises(ValueError, match="stored as 'int'"):
        StreamingImages(local=str(tmp_path), image_columns=["k"], decode="none", batch_size=1)[0]
    with pytest.raises(ValueError, match="names no column"):
        StreamingImages(local=str(tmp_path), image_columns=[], batch_size=1)
