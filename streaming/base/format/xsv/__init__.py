"""``streaming.base.format.xsv``: the CSV/TSV/XSV writers, and their readers (our `XSVShard`)."""

from streaming.format.split import CSVWriter, TSVWriter, XSVWriter
from streaming.format.split_reader import XSVShard

XSVReader = CSVReader = TSVReader = XSVShard

__all__ = ["CSVReader", "CSVWriter", "TSVReader", "TSVWriter", "XSVReader", "XSVWriter"]
