"""What the image readers share: the decode modes, image-to-tensor, and raw column access.

Every image reader takes ``decode``:

* ``"cpu"`` (default): the image is decoded here, in the DataLoader worker, with PIL, and
  handed to ``transform`` (or, without one, turned into a float CHW tensor in [0, 1], as
  torchvision's ``to_tensor`` does);
* ``"none"``: the image column is handed out as its encoded bytes (JPEG or PNG), untouched,
  so workers only read and collate, and the batch can be decoded on the GPU. The default
  collate turns a batch of them into a sequence (tuple) of ``bytes``.

``with_sample_id=True`` appends each sample's id to what a reader returns, for augmentations
seeded by sample id and epoch.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from streaming.dataset import StreamingDataset
from streaming.format.mds.encodings import get_coder

DECODE_MODES = ("cpu", "none")
ENCODED = ("jpeg", "png", "bytes")  # encodings whose stored bytes are the image file


def decode_image(value: Any, mode: str | None = "RGB") -> Any:
    """A PIL image from a column value (a lazily opened image, or encoded bytes), in `mode`."""
    from PIL import Image

    img = value if isinstance(value, Image.Image) else Image.open(io.BytesIO(value))
    return img.convert(mode) if mode and img.mode != mode else img


def image_to_tensor(img: Any) -> Any:
    """A PIL image as a float32 CHW tensor in [0, 1] (torchvision's ``to_tensor`` for 8 bits)."""
    import torch

    arr = np.array(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous().float().div_(255)


def label_map_to_tensor(img: Any) -> Any:
    """A segmentation map (PIL ``L``/``P`` image of class ids) as an int64 HxW tensor."""
    import torch

    return torch.from_numpy(np.array(img, dtype=np.int64))


class StreamingImageDataset(StreamingDataset):
    """Base of the image readers: decode modes, transforms, and encoded-bytes access.

    Args:
        decode: ``"cpu"`` (decode with PIL) or ``"none"`` (hand out the encoded bytes).
        transform: applied to the image (a PIL image, or the bytes with ``decode="none"``).
        target_transform: applied to the target.
        with_sample_id: append the sample id to each returned tuple.
        **kwargs: `StreamingDataset` arguments (``local``, ``remote``, ``split``, ``shuffle``,
            ``batch_size``...).
    """

    #: Columns that ``decode="none"`` hands out as their stored bytes.
    image_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        decode: str = "cpu",
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        with_sample_id: bool = False,
        **kwargs: Any,
    ) -> None:
        if decode not in DECODE_MODES:
            raise ValueError(f"decode must be one of {DECODE_MODES}, got {decode!r}")
        super().__init__(**kwargs)
        self.decode = decode
        self.transform = transform
        self.target_transform = target_transform
        self.with_sample_id = with_sample_id

    def get_item(self, sample_id: int) -> Any:
        """Sample `sample_id`, decoded and transformed (see `build`)."""
        out = self.build(self.get_sample(sample_id))
        return (*out, sample_id) if self.with_sample_id else out

    def build(self, sample: dict[str, Any]) -> tuple:
        """Turn a sample's columns into what the model takes; subclasses implement it."""
        raise NotImplementedError

    def get_sample(self, sample_id: int) -> dict[str, Any]:
        """The sample's columns: decoded, or with ``decode="none"`` the image columns as bytes."""
        if self.decode == "cpu":
            return super().get_item(sample_id)
        if not 0 <= sample_id < self.num_samples:
            raise IndexError(
                f"Sample index {sample_id} is out of range for {self.num_samples} samples"
            )
        shard_id = int(np.searchsorted(self.sample_offset_per_shard, sample_id, "right")) - 1
        shard = self.shards[shard_id]
        index = sample_id - int(self.sample_offset_per_shard[shard_id])
        if shard.entry.get("format") != "mds":
            raise ValueError(f"decode='none' reads MDS datasets; shard {shard_id} is not MDS")
        try:
            data = shard.get_sample_data(index)
        except FileNotFoundError:
            super().get_item(sample_id)  # the dataset fetches and opens the shard its own way
            data = shard.get_sample_data(index)
        return split_columns(shard.entry, data, self.image_columns)

    def image(self, value: Any) -> Any:
        """The image column's value for the model: bytes as stored, or a decoded, transformed
        image (a float tensor without a transform)."""
        if self.decode == "none":
            return self.transform(value) if self.transform else value
        img = decode_image(value)
        return self.transform(img) if self.transform else image_to_tensor(img)

    def target(self, value: Any) -> Any:
        """The target after `target_transform`."""
        return self.target_transform(value) if self.target_transform else value


def split_columns(entry: dict[str, Any], data: memoryview, raw: tuple[str, ...]) -> dict:
    """Decode one MDS sample's columns, except those in `raw`, which stay their stored bytes."""
    names, encodings = entry["column_names"], entry["column_encodings"]
    sizes = entry["column_sizes"]
    num_variable = sum(1 for s in sizes if not s)
    variable = struct.unpack_from(f"<{num_variable}I", data, 0)
    pos, k, out = 4 * num_variable, 0, {}
    for name, encoding, size in zip(names, encodings, sizes, strict=True):
        if not size:
            size, k = variable[k], k + 1
        view = data[pos : pos + size]
        pos += size
        if name in raw:
            if encoding not in ENCODED:
                raise ValueError(
                    f"decode='none' hands out encoded images, but column {name!r} is stored as "
                    f"{encoding!r}; use decode='cpu', or convert the dataset with a jpeg or "
                    "png encoding"
                )
            out[name] = bytes(view)
        else:
            out[name] = get_coder(encoding).decode(view)
    return out


class StreamingImageClassification(StreamingImageDataset):
    """Images with an int label in columns ``x`` and ``y``: returns ``(image, label)``."""

    image_columns = ("x",)

    def build(self, sample: dict[str, Any]) -> tuple:
        return self.image(sample["x"]), self.target(sample["y"])


class StreamingImages(StreamingImageDataset):
    """Any MDS dataset with image columns (the generic option): each sample is its dict of
    columns, with `image_columns` decoded to PIL images (``decode="cpu"``) or handed out as their
    stored JPEG/PNG bytes (``decode="none"``, for decoding on the device), and the sample id
    under ``"sample_id"`` with ``with_sample_id=True``. `transform` applies to each image column,
    `target_transform` to nothing (the dict is the sample).

    Args:
        image_columns: The columns holding images (stored as ``jpeg`` or ``png``).
        **kwargs: `StreamingImageDataset` and `StreamingDataset` arguments.
    """

    def __init__(self, *, image_columns: tuple[str, ...] | list[str], **kwargs: Any) -> None:
        if not image_columns:
            raise ValueError("image_columns names no column: give the columns holding images")
        self.image_columns = tuple(image_columns)  # this instance's, not the class's
        super().__init__(**kwargs)

    def get_item(self, sample_id: int) -> dict[str, Any]:
        sample = dict(self.get_sample(sample_id))
        for name in self.image_columns:
            if name not in sample:
                raise KeyError(f"image column {name!r} is not a column: {sorted(sample)}")
            if self.transform is not None:
                sample[name] = self.transform(sample[name])
        if self.with_sample_id:
            sample["sample_id"] = sample_id
        return sample
