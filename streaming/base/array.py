"""mosaicml-streaming's ``Array`` (an indexing mix-in of its datasets): absent here."""

from streaming.base._absent import absent

raise absent(
    "streaming.base.array",
    "index LocalDataset and StreamingDataset directly: an int, a slice, a list or a numpy "
    "array of indices (dataset[2:5], dataset[[0, 3]]).",
)
