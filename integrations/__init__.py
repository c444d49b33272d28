"""Adapters for PyTorch Lightning (`integrations.lightning`) and MosaicML Composer
(`integrations.composer`). They import the core; the core never imports them."""
