"""LAION dataset conversion at mosaicml-streaming's path."""
