"""mosaicml-streaming's ``streaming.base.shared.barrier``: absent here, by design."""

from streaming.base._absent import absent

raise absent("streaming.base.shared.barrier", "nothing; see streaming.base.shared.")
