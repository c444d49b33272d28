"""LAION-400M conversion at mosaicml-streaming's path."""
