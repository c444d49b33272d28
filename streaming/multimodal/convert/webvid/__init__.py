"""WebVid conversion at mosaicml-streaming's paths.

``python -m streaming.multimodal.convert.webvid --in <CSV file> --out <MDS output directory>``
(the command of mosaicml-streaming's README) and ``python -m
streaming.multimodal.convert.webvid.crawl_webvid --in CSV --out_root DIR`` (its script) write
one MDS dataset of the CSV's videos; ``...webvid.extract_webvid_videos`` moves the videos of
such a dataset out of the shards.
"""
