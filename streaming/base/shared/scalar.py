"""mosaicml-streaming's ``streaming.base.shared.scalar``: absent here, by design."""

from streaming.base._absent import absent

raise absent("streaming.base.shared.scalar", "nothing; see streaming.base.shared.")
