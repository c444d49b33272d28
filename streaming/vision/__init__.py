"""The image path that keeps decoding off the DataLoader workers: batch decode on the device
(nvjpeg on a GPU, the same code on the CPU) and seeded augmentation."""

from streaming.vision.decode import cpu_decoder_name, decode_images
from streaming.vision.pipeline import IMAGENET_MEAN, IMAGENET_STD, ImageBatchPipeline

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageBatchPipeline",
    "cpu_decoder_name",
    "decode_images",
]
