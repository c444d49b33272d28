"""Can the loader feed the GPU? ResNet-50 training throughput three ways, on one device:

1. **synthetic**: random tensors already on the device (the ceiling: the model's own speed);
2. **cpu decode**: our MDS shards, JPEGs decoded and augmented in DataLoader workers
   (Pillow decode, RandomResizedCrop, flip, to-tensor, normalize), one worker per CPU core;
3. **device decode**: our MDS shards, workers only read and collate the JPEG bytes; decode
   (nvjpeg), crop, flip and normalize run on the device (`streaming.vision.ImageBatchPipeline`).

    python benchmarks/gpu_feed.py                      # on a GPU machine: the real figures
    python benchmarks/gpu_feed.py --device cpu --arch resnet18 --images 64 --batch 8 --steps 4
                                                       # a CPU smoke run (what the tests do)

The data: `--images` synthetic photo-like 500x375 JPEGs (about 90 KB, as ImageNet's), written
once with our `MDSWriter` in ImageNet's columns (``x`` jpeg, ``y`` label) and read with
`StreamingImageNet`. Training: SGD, bf16 autocast on CUDA, channels_last, batch `--batch`.
Each figure is images/s over `--steps` steps after `--warmup` steps; the table gives each
one's ratio to the synthetic ceiling (target: device decode >= 95%).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _photo(i: int) -> bytes:
    """A photo-like 500x375 JPEG (smooth gradients, shapes, sensor noise), about 90 KB."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(i)
    x = np.linspace(0, 1, 500)[None, :, None]
    y = np.linspace(0, 1, 375)[:, None, None]
    base = rng.uniform(0, 255, 3) * x + rng.uniform(0, 255, 3) * y
    pixels = (base / 2 + rng.normal(0, 18, (375, 500, 3))).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.integers(0, 450), rng.integers(0, 330)
        box = (x0, y0, x0 + rng.integers(10, 120), y0 + rng.integers(10, 120))
        draw.ellipse(box, fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def make_dataset(path: Path, images: int) -> int:
    """Write `images` JPEGs as MDS at `path` (reused if complete); returns the mean size."""
    from streaming import MDSWriter

    stamp = path / ".complete"
    if stamp.exists() and json.loads(stamp.read_text())["images"] == images:
        return json.loads(stamp.read_text())["mean_bytes"]
    shutil.rmtree(path, ignore_errors=True)
    total = 0
    with Pool(os.cpu_count()) as pool, MDSWriter(
        out=str(path), columns={"i": "int", "x": "jpeg", "y": "int"}, size_limit="64mb"
    ) as out:
        for i, data in enumerate(pool.imap(_photo, range(images), chunksize=16)):
            out.write({"i": i, "x": data, "y": i % 1000})
            total += len(data)
    stamp.write_text(json.dumps({"images": images, "mean_bytes": total // images}))
    return total // images


def _model(arch: str, device):  # noqa: ANN001, ANN202
    import torch
    import torchvision

    model = getattr(torchvision.models, arch)(num_classes=1000).to(device)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


def _step(model, opt, images, labels, device) -> None:  # noqa: ANN001
    import torch

    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _timed(batches, model, opt, device, warmup: int, steps: int, prepare) -> float:  # noqa: ANN001
    """Images/s over `steps` steps after `warmup`."""
    import torch

    it = iter(batches)
    start, seen = None, 0
    for n in range(warmup + steps):
        images, labels = prepare(next(it))
        _step(model, opt, images, labels, device)
        if n == warmup - 1 or (warmup == 0 and n == 0 and start is None):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            seen = 0 if warmup else len(labels)
            continue
        seen += len(labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def run(args: argparse.Namespace) -> dict[str, float]:
    import torch
    from torch.utils.data import DataLoader
    from torchvision.transforms import v2

    from streaming.datasets import StreamingImageNet
    from streaming.vision import ImageBatchPipeline

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    workers = args.workers if args.workers is not None else os.cpu_count()
    data = Path(args.data)
    mean_bytes = make_dataset(data, args.images)
    need = (args.warmup + args.steps) * args.batch
    loops = -(-need // args.images)
    results: dict[str, float] = {}

    model, opt = _model(args.arch, device)
    fake = torch.randn(args.batch, 3, 224, 224, device=device).to(
        memory_format=torch.channels_last
    )
    labels = torch.randint(0, 1000, (args.batch,), device=device)
    results["synthetic"] = _timed(
        iter(lambda: (fake, labels), None), model, opt, device, args.warmup, args.steps,
        lambda b: b,
    )  # fmt: skip

    def loader(**reader):  # noqa: ANN003, ANN202
        def epochs():  # noqa: ANN202
            ds = StreamingImageNet(local=str(data), batch_size=args.batch, shuffle=True, **reader)
            dl = DataLoader(
                ds, batch_size=args.batch, num_workers=workers, pin_memory=device.type == "cuda",
                persistent_workers=workers > 0, prefetch_factor=4 if workers else None,
                drop_last=True,
            )  # fmt: skip
            for _ in range(loops + 1):
                yield from dl

        return epochs()

    normalize = v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    cpu_transform = v2.Compose([
        v2.RandomResizedCrop(224, antialias=True), v2.RandomHorizontalFlip(), v2.PILToTensor(),
        v2.ToDtype(torch.float32, scale=True), normalize,
    ])  # fmt: skip
    model, opt = _model(args.arch, device)

    def to_device(batch):  # noqa: ANN001, ANN202
        images, targets = batch[0], batch[1]
        return (images.to(device, non_blocking=True).to(memory_format=torch.channels_last),
                targets.to(device, non_blocking=True))  # fmt: skip

    results["cpu decode"] = _timed(
        loader(transform=cpu_transform), model, opt, device, args.warmup, args.steps, to_device
    )
    pipeline = ImageBatchPipeline(size=224, seed=0, dtype=torch.float32)
    model, opt = _model(args.arch, device)

    def on_device(batch):  # noqa: ANN001, ANN202
        images, targets, ids = batch
        return pipeline(images, ids, 0, device), targets.to(device, non_blocking=True)

    results["device decode"] = _timed(
        loader(decode="none", with_sample_id=True), model, opt, device, args.warmup, args.steps,
        on_device,
    )  # fmt: skip
    results["mean_jpeg_bytes"] = mean_bytes
    results["workers"] = workers
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU core")
    parser.add_argument("--data", default=str(ROOT / "benchmarks" / "out" / "gpu_feed"))
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    r = run(args)
    ceiling = r["synthetic"]
    lines = [
        f"{args.arch}, batch {args.batch}, {args.device}, {r['workers']} workers, "
        f"{args.images} JPEGs of {r['mean_jpeg_bytes'] / 1000:.0f} KB",
        "",
        "| input | images/s | vs synthetic |",
        "|---|---|---|",
    ]
    for name in ("synthetic", "cpu decode", "device decode"):
        lines.append(f"| {name} | {r[name]:,.0f} | {r[name] / ceiling:.0%} |")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
