"""mosaicml-streaming's ``Spanner`` (sample index -> shard lookup): absent here, by design."""

from streaming.base._absent import absent

raise absent(
    "streaming.base.spanner",
    "LocalDataset and StreamingDataset map a sample index to its shard themselves; index them "
    "directly (dataset[i], dataset.get_item(i)).",
)
