"""Adapters for PyTorch Lightning (`streaming.integrations.lightning`) and MosaicML Composer
(`streaming.integrations.composer`). They import the core; the core never imports them."""
