"""MDS, mosaicml-streaming's joint shard format: column encodings (`encodings`)."""
