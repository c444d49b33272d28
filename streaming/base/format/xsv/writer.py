"""``streaming.base.format.xsv.writer``: the CSV/TSV/XSV writers (see `streaming.format.split`)."""

from streaming.format.split import CSVWriter, TSVWriter, XSVWriter

__all__ = ["CSVWriter", "TSVWriter", "XSVWriter"]
