"""What each supported dataset's recipe reads: the reader class and its options, the
transforms, the collate function, the device stage, and what the model needs to know.

`plan_data` turns a loader's `DatasetConfig` into a `DataPlan`, which both trainers' runners
hand to their adapter (`StreamingDataModule` or `build_dataspec`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch.utils.data import default_collate

from streaming.config.schema import DatasetConfig
from streaming.datasets.ade20k import StreamingADE20K
from streaming.datasets.c4 import StreamingC4
from streaming.datasets.cifar10 import StreamingCIFAR10
from streaming.datasets.coco import StreamingCOCO
from streaming.datasets.enwiki import StreamingEnWiki
from streaming.datasets.imagenet import StreamingImageNet
from streaming.datasets.laion import StreamingLAION
from streaming.datasets.pile import StreamingPile
from streaming.datasets.text import get_tokenizer
from streaming.datasets.webvid import StreamingWebVid
from streaming.format.errors import FormatError
from streaming.integrations.recipes import transforms as tf

#: Defaults of the task settings a recipe leaves unset.
IMAGE_SIZE = {
    "cifar10": 32, "imagenet": 224, "ade20k": 256, "coco": 256, "laion": 224, "webvid": 112,
}  # fmt: skip
TEXT_LENGTH = {"c4": 2048, "enwiki": 2048, "pile": 2048, "laion": 77, "webvid": 77}
NUM_CLASSES = {"cifar10": 10, "imagenet": 1000}


@dataclass
class DataPlan:
    """How a loader reads one dataset.

    Attributes:
        dataset_class: the reader (a `StreamingDataset` subclass).
        reader_options: its arguments beyond `StreamingDataset`'s.
        collate_fn: samples -> a dict batch with a ``sample_id`` entry.
        device_transform: ``(batch, epoch) -> batch`` on the training device, or None.
        tokens_key: the batch key holding token ids (text), or None.
        model_defaults: model arguments the data decides (``num_classes``, ``vocab_size``...),
            used where the recipe's ``model.kwargs`` does not set them.
    """

    dataset_class: type
    reader_options: dict[str, Any]
    collate_fn: Callable[[list[Any]], Any]
    device_transform: Callable[[Any, int], Any] | None = None
    tokens_key: str | None = None
    model_defaults: dict[str, Any] = field(default_factory=dict)


class CorruptSampleError(OSError):
    """A training sample that cannot be read or decoded: the message names the sample, its
    shard and the shard's file (the decoder's own error is its ``__cause__``)."""


#: What decoders raise on bytes that are not what they claim (PIL raises OSError, and
#: SyntaxError for some broken PNG chunks).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


class _NamesBadSamples:
    """A reader whose samples that fail to decode raise `CorruptSampleError` naming them."""

    def get_item(self, sample_id: int) -> Any:
        try:
            return super().get_item(sample_id)  # type: ignore[misc]
        except (FileNotFoundError, FormatError, CorruptSampleError):
            raise  # these name their file and shard already
        except _DECODE_ERRORS as e:
            raise CorruptSampleError(
                f"Sample {sample_id} cannot be decoded ({self._where(sample_id)}): "
                f"{type(e).__name__}: {e}. The shard file is corrupt: check it with `streaming "
                "verify --samples`, or delete it so that it is fetched again"
            ) from e

    def _where(self, sample_id: int) -> str:
        offsets = self.sample_offset_per_shard  # type: ignore[attr-defined]
        shard_id = int(np.searchsorted(offsets, sample_id, "right")) - 1
        shard = self.shards[shard_id]  # type: ignore[attr-defined]
        return str(shard.where(sample=sample_id - int(offsets[shard_id])))


class _WithSampleId:
    """Adds each sample's id to a text reader's dict (the image readers have
    ``with_sample_id``)."""

    def get_item(self, sample_id: int) -> dict[str, Any]:
        return {**super().get_item(sample_id), "sample_id": sample_id}  # type: ignore[misc]


class C4(_NamesBadSamples, _WithSampleId, StreamingC4):
    """`StreamingC4` with ``sample_id``."""


class EnWiki(_NamesBadSamples, _WithSampleId, StreamingEnWiki):
    """`StreamingEnWiki` with ``sample_id``."""


class Pile(_NamesBadSamples, _WithSampleId, StreamingPile):
    """`StreamingPile` with ``sample_id``."""


class CIFAR10(_NamesBadSamples, StreamingCIFAR10):
    """`StreamingCIFAR10` naming a sample that fails to decode."""


class ImageNet(_NamesBadSamples, StreamingImageNet):
    """`StreamingImageNet` naming a sample that fails to decode."""


class ADE20K(_NamesBadSamples, StreamingADE20K):
    """`StreamingADE20K` naming a sample that fails to decode."""


class COCO(_NamesBadSamples, StreamingCOCO):
    """`StreamingCOCO` naming a sample that fails to decode."""


class LAION(_NamesBadSamples, StreamingLAION):
    """`StreamingLAION` naming a sample that fails to decode."""


class WebVid(_NamesBadSamples, StreamingWebVid):
    """`StreamingWebVid` naming a sample that fails to decode."""


TEXT_READERS = {"c4": C4, "enwiki": EnWiki, "pile": Pile}


def vocab_size(tokenizer: Any) -> int:
    """The number of token ids `tokenizer` can produce."""
    size = getattr(tokenizer, "vocab_size", None)
    inner = getattr(tokenizer, "tokenizer", None)
    return len(inner) if inner is not None else int(size)


def plan_data(ds: DatasetConfig, train: bool, seed: int = 0) -> DataPlan:
    """The `DataPlan` of `ds`, for training (random augmentation) or evaluation.

    Args:
        ds: the loader's dataset section.
        train: training data (augmented) or evaluation data.
        seed: seeds the device-side augmentation (with each sample's id and the epoch).
    """
    size = ds.image_size or IMAGE_SIZE.get(ds.name, 0)
    length = ds.max_seq_len or TEXT_LENGTH.get(ds.name, 0)
    tokenizer_name = ds.tokenizer_name or "bytes"
    if ds.name in ("cifar10", "imagenet"):
        plan = _classification(ds, train, size, seed)
    elif ds.name == "ade20k":
        options = {"joint_transform": tf.JointResize(size, train),
                   "transform": tf.normalize_transform()}  # fmt: skip
        plan = DataPlan(ADE20K, options, tf.DictCollate(("image", "mask", "sample_id")))
    elif ds.name == "coco":
        keys = ("image", "img_id", "size", "boxes", "labels", "sample_id")
        collate = tf.DictCollate(keys, lists=("boxes", "labels"), drop=("img_id", "size"))
        plan = DataPlan(COCO, {"transform": tf.DetectionTransform(size, train)}, collate)
    elif ds.name in TEXT_READERS:
        options = {"tokenizer_name": tokenizer_name, "max_seq_len": length}
        collate = default_collate
        size_of = vocab_size(get_tokenizer(tokenizer_name))
        defaults = {"vocab_size": size_of, "max_seq_len": length}
        plan = DataPlan(TEXT_READERS[ds.name], options, collate, None, "input_ids", defaults)
    elif ds.name == "laion":
        options = {"tokenizer_name": tokenizer_name, "max_caption_len": length,
                   "transform": tf.clip_transform(size, train)}  # fmt: skip
        plan = DataPlan(LAION, options, tf.DictCollate(("image", "caption", "sample_id")))
    elif ds.name == "webvid":
        options = {"transform": tf.VideoTransform(size),
                   "target_transform": tf.Tokenize(tokenizer_name, length)}  # fmt: skip
        plan = DataPlan(WebVid, options, tf.DictCollate(("video", "caption", "sample_id")))
    else:  # check_recipe names the supported datasets
        raise ValueError(f"No recipe data pipeline for dataset {ds.name!r}")
    if ds.name in ("laion", "webvid"):
        tokenizer = get_tokenizer(tokenizer_name)
        plan.model_defaults = {
            "vocab_size": vocab_size(tokenizer), "max_text_len": length,
            "pad_id": tokenizer.pad_token_id,
        }  # fmt: skip
    if ds.name not in TEXT_READERS:
        plan.reader_options["with_sample_id"] = True
    plan.reader_options.update(ds.reader)
    return plan


def _classification(ds: DatasetConfig, train: bool, size: int, seed: int) -> DataPlan:
    """CIFAR10 or ImageNet: decoded in the workers (``cpu``), or on the device (``device``)."""
    reader = CIFAR10 if ds.name == "cifar10" else ImageNet
    collate = tf.DictCollate(("image", "label", "sample_id"))
    defaults = {"num_classes": NUM_CLASSES[ds.name]}
    if ds.decode == "cpu":
        make = tf.cifar_transform if ds.name == "cifar10" else tf.imagenet_transform
        return DataPlan(reader, {"transform": make(size, train)}, collate, None, None, defaults)
    from streaming.integrations.vision import image_device_transform
    from streaming.vision import ImageBatchPipeline

    if ds.name == "cifar10":
        pipeline = ImageBatchPipeline(
            size=size, train=train, seed=seed, scale=(0.5, 1.0), resize=size,
            mean=tf.CIFAR_MEAN, std=tf.CIFAR_STD,
        )  # fmt: skip
    else:
        resize = tf.eval_resize(size)
        pipeline = ImageBatchPipeline(size=size, train=train, seed=seed, resize=resize)
    device = image_device_transform(pipeline, image_key="image", id_key="sample_id")
    return DataPlan(reader, {"decode": "none"}, collate, device, None, defaults)
