"""mosaicml-streaming's ``streaming.base.shared.array``: absent here, by design."""

from streaming.base._absent import absent

raise absent("streaming.base.shared.array", "nothing; see streaming.base.shared.")
