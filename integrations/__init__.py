"""Adapters for PyTorch Lightning and MosaicML Composer (they import the core; the core never imports them)."""
