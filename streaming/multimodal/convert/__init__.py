"""mosaicml-streaming's multimodal convert scripts at its paths (``python -m
streaming.multimodal.convert.webvid``, ``...webvid.crawl_webvid``,
``...webvid.extract_webvid_videos``, ``...laion.laion400m.convert_and_upload``), with its
arguments and MDS columns."""
