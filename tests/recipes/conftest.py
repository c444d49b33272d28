from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets import _raw
from tests.datasets._support import run

#: Dataset -> (replica builder, converter options).
REPLICAS = {
    "cifar10": (_raw.cifar10, {}),
    "imagenet": (_raw.imagenet, {}),
    "ade20k": (_raw.ade20k, {}),
    "coco": (_raw.coco, {}),
    "c4": (_raw.c4, {}),
    "enwiki": (_raw.enwiki, {"val_fraction": 0.3}),  # 3 train articles, 1 val
    "pile": (_raw.pile, {}),
    "laion": (_raw.laion, {}),
    "webvid": (lambda root: _raw.webvid(root, video=_raw.tiny_video()), {}),
}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each supported dataset's tiny raw replica (tests/datasets/_raw.py) converted to MDS by
    its converter, in ``<root>/<dataset>/{train,val...}``."""
    root = tmp_path_factory.mktemp("recipes-data")
    raw = tmp_path_factory.mktemp("recipes-raw")
    for name, (build, options) in REPLICAS.items():
        build(raw / name)
        run(name, raw / name, root / name, options)
    return root
