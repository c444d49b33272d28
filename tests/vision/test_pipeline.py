"""The device image path, run on the CPU: decode, seeded crops, the reference transform."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from streaming.vision import ImageBatchPipeline, decode_images
from streaming.vision.augment import crop_params, sample_seed


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width)[None, :, None]
    y = np.linspace(0, 255, height)[:, None, None]
    pixels = (0.5 * x + 0.5 * y + rng.normal(0, 20, (height, width, 3))).clip(0, 255)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_decode_matches_pillow() -> None:
    images = [jpeg(50, 40, 1), png(7, 9), jpeg(33, 61, 2)]
    decoded = decode_images(images)
    for data, tensor in zip(images, decoded, strict=True):
        reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert tensor.dtype == torch.uint8 and tuple(tensor.shape) == (3, *reference.shape[:2])
        assert np.abs(tensor.permute(1, 2, 0).numpy().astype(int) - reference).max() <= 1
    with pytest.raises(ValueError, match="Image 1 of the batch cannot be decoded"):
        decode_images([jpeg(8, 8), b"\xff\xd8 not a jpeg"])


def test_same_sample_same_epoch_same_augmentation() -> None:
    pipe = ImageBatchPipeline(size=32, seed=3)
    images = [jpeg(64, 48, i) for i in range(4)]
    a = pipe(images, [10, 11, 12, 13], epoch=1)
    b = pipe(images[::-1], [13, 12, 11, 10], epoch=1)  # another order: per sample, not position
    assert torch.equal(a, b.flip(0))
    assert not torch.equal(a, pipe(images, [10, 11, 12, 13], epoch=2))
    assert a.shape == (4, 3, 32, 32) and a.is_contiguous(memory_format=torch.channels_last)


def test_matches_torchvision_reference_transform() -> None:
    pipe = ImageBatchPipeline(size=24, seed=5)
    data = jpeg(80, 60, 7)
    got = pipe([data], [42], epoch=0)[0]
    gen = torch.Generator().manual_seed(sample_seed(5, 0, 42))
    top, left, h, w = crop_params(60, 80, gen)
    flip = torch.rand(1, generator=gen).item() < 0.5
    image = decode_images([data])[0]
    ref = TF.resized_crop(image, top, left, h, w, [24, 24], antialias=True).float()
    if flip:
        ref = ref.flip(-1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1) * 255
    assert torch.allclose(got, (ref - mean) / std, atol=0.05)  # uint8 rounding in torchvision


def test_eval_is_a_center_crop() -> None:
    pipe = ImageBatchPipeline(size=16, train=False, resize=20, mean=(0, 0, 0), std=(1, 1, 1))
    out = pipe([png(40, 20)], [0])
    assert out.shape == (1, 3, 16, 16)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([10.0, 200.0, 30.0]) / 255, atol=1e-4)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 2000), st.integers(1, 2000), st.integers(0, 2**31), st.integers(0, 100),
    st.integers(0, 2**40),
)
def test_crops_stay_inside_the_image(height: int, width: int, seed: int, epoch: int, sid: int):
    gen = torch.Generator().manual_seed(sample_seed(seed, epoch, sid))
    top, left, h, w = crop_params(height, width, gen)
    assert 0 <= top and 0 <= left and 0 < h and 0 < w
    assert top + h <= height and left + w <= width
