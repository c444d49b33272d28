"""mosaicml-streaming's text readers at its import path (``from streaming.text import ...``).

Same constructor arguments and same samples as the peer's; they read datasets written by
``streaming convert c4|pile`` or by the peer's converters (``python -m streaming.text.convert.c4``).
The typed readers with our own defaults are in `streaming.datasets`.
"""

from streaming.text.c4 import StreamingC4 as StreamingC4
from streaming.text.enwiki import StreamingEnWiki as StreamingEnWiki
from streaming.text.pile import StreamingPile as StreamingPile

__all__ = ["StreamingPile", "StreamingC4", "StreamingEnWiki"]
