"""``streaming.base.format.xsv.reader``: the CSV/TSV/XSV readers, all our `XSVShard`."""

from streaming.format.split_reader import XSVShard

XSVReader = CSVReader = TSVReader = XSVShard

__all__ = ["CSVReader", "TSVReader", "XSVReader"]
