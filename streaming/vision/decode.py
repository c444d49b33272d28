"""Decode a batch of encoded images into uint8 CHW tensors, on the GPU or on the CPU.

On a CUDA device JPEGs are decoded together by nvjpeg (``torchvision.io.decode_jpeg`` with a
list and ``device='cuda'``): the DataLoader workers only read bytes and collate. Elsewhere the
same call runs on the CPU with the fastest decoder installed: simplejpeg (libjpeg-turbo, about
1.4x Pillow per core here) when present, else torchvision's CPU decoder. Non-JPEG images (PNG,
WebP...) are decoded on the CPU by torchvision and moved to the device.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["decode_images", "cpu_decoder_name", "as_uint8_tensor"]

_JPEG_MAGIC = b"\xff\xd8"


def as_uint8_tensor(data: Any) -> torch.Tensor:
    """Encoded bytes (bytes, bytearray, memoryview, numpy or a CPU tensor) as a 1-D uint8
    tensor on the CPU, without copying where possible."""
    if isinstance(data, torch.Tensor):
        return data.cpu().reshape(-1).to(torch.uint8)
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
    return torch.frombuffer(bytearray(data) if isinstance(data, bytes) else data, dtype=torch.uint8)


def _is_jpeg(data: torch.Tensor) -> bool:
    return data.numel() >= 2 and bytes(data[:2].tolist()) == _JPEG_MAGIC


def cpu_decoder_name() -> str:
    """The JPEG decoder the CPU path uses: ``simplejpeg`` or ``torchvision``."""
    try:
        import simplejpeg  # noqa: F401
    except ImportError:
        return "torchvision"
    return "simplejpeg"


def _decode_cpu_jpeg(data: torch.Tensor) -> torch.Tensor:
    if cpu_decoder_name() == "simplejpeg":
        import simplejpeg

        hwc = simplejpeg.decode_jpeg(data.numpy().tobytes(), colorspace="RGB")
        return torch.from_numpy(hwc).permute(2, 0, 1)
    from torchvision.io import ImageReadMode, decode_jpeg

    return decode_jpeg(data, mode=ImageReadMode.RGB)


def _decode_other(data: torch.Tensor) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image

    return decode_image(data, mode=ImageReadMode.RGB)


def decode_images(images: Sequence[Any], device: torch.device | str | None = None) -> list[Any]:
    """Decode `images` (encoded bytes each) to RGB uint8 tensors ``(3, H, W)`` on `device`.

    Args:
        images: Encoded JPEG/PNG/WebP bytes, one per sample.
        device: Where the result goes; a CUDA device decodes JPEGs there with nvjpeg.

    Raises:
        ValueError: an image that cannot be decoded (the message gives its position).
    """
    device = torch.device(device or "cpu")
    tensors = [as_uint8_tensor(image) for image in images]
    jpeg = [i for i, t in enumerate(tensors) if _is_jpeg(t)]
    out: list[Any] = [None] * len(tensors)
    with warnings.catch_warnings():
        # torchvision 0.29 deprecates its decoders in favour of TorchCodec, still young.
        warnings.simplefilter("ignore", DeprecationWarning)
        return _decode(tensors, jpeg, out, device)


def _decode(
    tensors: list[torch.Tensor], jpeg: list[int], out: list[Any], device: torch.device
) -> list[Any]:
    try:
        if device.type == "cuda" and jpeg:
            from torchvision.io import ImageReadMode, decode_jpeg

            decoded = decode_jpeg([tensors[i] for i in jpeg], mode=ImageReadMode.RGB, device=device)
            for i, image in zip(jpeg, decoded, strict=True):
                out[i] = image
        else:
            for i in jpeg:
                out[i] = _decode_cpu_jpeg(tensors[i]).to(device)
        for i, t in enumerate(tensors):
            if out[i] is None:
                out[i] = _decode_other(t).to(device)
    except (RuntimeError, ValueError) as e:
        bad = next((i for i, t in enumerate(out) if t is None), "?")
        raise ValueError(f"Image {bad} of the batch cannot be decoded: {e}") from e
    return out
