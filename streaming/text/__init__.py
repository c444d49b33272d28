"""mosaicml-streaming's text readers at its import path (``from streaming.text import ...``).

Same constructor arguments and same samples as the peer's; they read datasets written by
``streaming convert c4|pile`` or by the convert scripts at the peer's paths (``python -m
streaming.text.convert.c4``). The typed readers with our own defaults are in
`streaming.datasets`. The readers are imported on first use, so the convert scripts start
without torch.
"""

from __future__ import annotations

from streaming._lazy import lazy_getattr

#: Reader class name -> its module.
READERS = {
    "StreamingPile": "streaming.text.pile",
    "StreamingC4": "streaming.text.c4",
    "StreamingEnWiki": "streaming.text.enwiki",
}


__getattr__ = lazy_getattr(__name__, READERS)


__all__ = ["StreamingPile", "StreamingC4", "StreamingEnWiki"]
