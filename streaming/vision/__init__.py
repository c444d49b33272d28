"""The image path that keeps decoding off the DataLoader workers: batch decode on the device
(nvjpeg on a GPU, the same code on the CPU) and seeded augmentation.

Also mosaicml-streaming's vision readers at its import path (`StreamingADE20K`,
`StreamingCIFAR10`, `StreamingCOCO`, `StreamingImageNet`), with its arguments and samples.
They are imported on first use, so that a module needing one part (the per-sample seed of
`streaming.vision.augment`, say) does not load the readers.
"""

from streaming._lazy import by_module, lazy_getattr

_LAZY = by_module(
    {
        "streaming.vision.ade20k": ("StreamingADE20K",),
        "streaming.vision.cifar10": ("StreamingCIFAR10",),
        "streaming.vision.coco": ("StreamingCOCO",),
        "streaming.vision.imagenet": ("StreamingImageNet",),
        "streaming.vision.decode": ("cpu_decoder_name", "decode_images"),
        "streaming.vision.pipeline": ("IMAGENET_MEAN", "IMAGENET_STD", "ImageBatchPipeline"),
    }
)

__getattr__ = lazy_getattr(__name__, _LAZY, submodules=True)

__all__ = sorted(_LAZY)
