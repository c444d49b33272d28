"""mosaicml-streaming's text convert scripts at its paths: ``python -m
streaming.text.convert.<c4|pile|enwiki_text>``, with its arguments and MDS columns, run by our
converters (see `streaming.datasets.peer_convert`)."""
