"""The image path that keeps decoding off the DataLoader workers: batch decode on the device
(nvjpeg on a GPU, the same code on the CPU) and seeded augmentation.

Also mosaicml-streaming's vision readers at its import path (`StreamingADE20K`,
`StreamingCIFAR10`, `StreamingCOCO`, `StreamingImageNet`), with its arguments and samples.
They are imported on first use, so that a module needing one part (the per-sample seed of
`streaming.vision.augment`, say) does not load the readers.
"""

from streaming._lazy import lazy_getattr

_LAZY = {
    "StreamingADE20K": "streaming.vision.ade20k",
    "StreamingCIFAR10": "streaming.vision.cifar10",
    "StreamingCOCO": "streaming.vision.coco",
    "StreamingImageNet": "streaming.vision.imagenet",
    "cpu_decoder_name": "streaming.vision.decode",
    "decode_images": "streaming.vision.decode",
    "IMAGENET_MEAN": "streaming.vision.pipeline",
    "IMAGENET_STD": "streaming.vision.pipeline",
    "ImageBatchPipeline": "streaming.vision.pipeline",
}

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

__all__ = sorted(_LAZY)
