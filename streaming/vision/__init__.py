"""The image path that keeps decoding off the DataLoader workers: batch decode on the device
(nvjpeg on a GPU, the same code on the CPU) and seeded augmentation.

Also mosaicml-streaming's vision readers at its import path (`StreamingADE20K`,
`StreamingCIFAR10`, `StreamingCOCO`, `StreamingImageNet`), with its arguments and samples.
"""

from streaming.vision.ade20k import StreamingADE20K as StreamingADE20K
from streaming.vision.cifar10 import StreamingCIFAR10 as StreamingCIFAR10
from streaming.vision.coco import StreamingCOCO as StreamingCOCO
from streaming.vision.decode import cpu_decoder_name, decode_images
from streaming.vision.imagenet import StreamingImageNet as StreamingImageNet
from streaming.vision.pipeline import IMAGENET_MEAN, IMAGENET_STD, ImageBatchPipeline

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageBatchPipeline",
    "StreamingADE20K",
    "StreamingCIFAR10",
    "StreamingCOCO",
    "StreamingImageNet",
    "cpu_decoder_name",
    "decode_images",
]
