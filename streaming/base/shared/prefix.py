"""mosaicml-streaming's ``streaming.base.shared.prefix``: absent here, by design."""

from streaming.base._absent import absent

raise absent("streaming.base.shared.prefix", "nothing; see streaming.base.shared.")
