"""mosaicml-streaming's vision convert scripts at its paths: ``python -m
streaming.vision.convert.<cifar10|imagenet|ade20k|coco> --in_root RAW --out_root OUT``, with its
arguments and MDS columns, run by our converters (see `streaming.datasets.peer_convert`)."""
