"""mosaicml-streaming's ``streaming.base.shared.memory``: absent here, by design."""

from streaming.base._absent import absent

raise absent("streaming.base.shared.memory", "nothing; see streaming.base.shared.")
