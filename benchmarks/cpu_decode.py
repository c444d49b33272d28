"""JPEG decode throughput per CPU core: Pillow against the faster decoders that install here.

    .venv/bin/python benchmarks/cpu_decode.py [--images 200] [--seconds 3]

One process, one thread, on ImageNet-like 500x375 JPEGs of about 90 KB (`gpu_feed._photo`),
decoded to RGB arrays: Pillow (``Image.open(...).convert("RGB")`` + ``numpy.asarray``),
simplejpeg (libjpeg-turbo) and torchvision's CPU ``decode_jpeg``. The fastest one installed is
what `streaming.vision.decode_images` uses on the CPU (`cpu_decoder_name`). Pillow-SIMD is not
tried: it replaces Pillow itself and needs a compiler toolchain for its build.
Writes ``benchmarks/results/cpu_decode.md``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))


def rate(decode, images: list[bytes], seconds: float) -> float:  # noqa: ANN001
    for data in images[:5]:
        decode(data)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for data in images:
            decode(data)
        n += len(images)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    import torch
    from gpu_feed import _photo
    from PIL import Image

    from streaming.vision.decode import as_uint8_tensor, cpu_decoder_name

    torch.set_num_threads(1)
    images = [_photo(i) for i in range(args.images)]
    decoders = {
        "Pillow": lambda d: np.asarray(Image.open(io.BytesIO(d)).convert("RGB")),
    }
    try:
        import simplejpeg

        decoders["simplejpeg"] = lambda d: simplejpeg.decode_jpeg(d, colorspace="RGB")
    except ImportError:
        pass
    import warnings

    from torchvision.io import decode_jpeg

    warnings.simplefilter("ignore", DeprecationWarning)
    decoders["torchvision"] = lambda d: decode_jpeg(as_uint8_tensor(d))
    rates = {name: rate(f, images, args.seconds) for name, f in decoders.items()}
    base = rates["Pillow"]
    lines = [
        f"JPEG decode per core, {len(images)} images of "
        f"{sum(map(len, images)) / len(images) / 1000:.0f} KB, 500x375 (load average "
        f"{os.getloadavg()[0]:.1f}); `python benchmarks/cpu_decode.py`",
        "",
        "| decoder | images/s per core | vs Pillow |",
        "|---|---|---|",
    ]
    lines += [f"| {n} | {r:,.0f} | {r / base:.2f}x |" for n, r in rates.items()]
    lines += ["", f"The CPU path uses: {cpu_decoder_name()}."]
    print("\n".join(lines))
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "cpu_decode.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
