"""The streams registry: the peer's ``registry_utils`` API, and ``StreamingDataset(stream_name,
stream_config)`` building its single stream with a registered `Stream` subclass (llm-foundry
passes both). tests/dataset/test_peer_behaviours.py runs the same calls in the peer's venv."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from streaming import Stream, StreamingDataset
from streaming.registry import (
    RegistryError,
    construct_from_registry,
    create_registry,
    save_registry,
    streams_registry,
)
from tests.dataset._support import write_ids


class TaggedStream(Stream):
    def __init__(self, *, tag: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tag = tag


def test_the_default_stream_is_registered() -> None:
    assert streams_registry.get("stream") is Stream
    assert streams_registry.get_all() == {"stream": Stream}
    assert "stream" in streams_registry and "nope" not in streams_registry
    with pytest.raises(RegistryError) as info:
        streams_registry.get("nope")
    assert str(info.value) == (  # the peer's message (catalogue's, typo included)
        "Cant't find 'nope' in registry streaming -> streams_registry. Available names: stream"
    )
    assert isinstance(info.value, ValueError)


def test_register_forms_and_save_registry() -> None:
    with save_registry():
        assert streams_registry.register("tagged", func=TaggedStream) is TaggedStream

        @streams_registry.register("tagged2")
        class Other(TaggedStream):
            pass

        assert sorted(streams_registry.get_all()) == ["stream", "tagged", "tagged2"]
    assert sorted(streams_registry.get_all()) == ["stream"]  # undone on exit
    with pytest.raises(RegistryError, match=r"Namespace already exists: \('streaming', "):
        create_registry("streaming", "streams_registry", "stream", generic_type=type)


def test_construct_from_registry() -> None:
    def add(a: int, b: int = 1) -> int:
        return a + b

    registry = create_registry("tests", "adders", generic_type=type)
    with save_registry():
        registry.register("add", func=add)
        built = construct_from_registry("add", registry, kwargs={"b": 5})
        assert isinstance(built, functools.partial) and built(1) == 6
        assert construct_from_registry("add", registry, False, kwargs={"a": 2}) == 3
        with pytest.raises(ValueError, match="Expected add to be of type <class 'str'>"):
            construct_from_registry("add", registry, pre_validation_function=str)
        seen = []
        construct_from_registry(
            "add", registry, False, seen.append, seen.append, kwargs={"a": 1, "b": 1}
        )
        assert seen == [add, 2]


def test_stream_name_and_config_choose_the_stream_class(tmp_path: Path) -> None:
    data = write_ids(tmp_path / "d", range(20))
    with save_registry():
        streams_registry.register("tagged", func=TaggedStream)
        config = {"tag": "web"}
        ds = StreamingDataset(
            local=data, batch_size=2, stream_name="tagged", stream_config=config, split=None
        )
        assert type(ds.streams[0]) is TaggedStream and ds.streams[0].tag == "web"
        assert ds.streams[0].download_timeout == 60.0  # the dataset's defaults still apply
        assert [s["id"] for s in ds] == list(range(20))
        assert config == {"tag": "web"}  # not modified (the peer adds the dataset's settings)
        with pytest.raises(RegistryError, match="Cant't find 'nope'"):
            StreamingDataset(local=data, batch_size=2, stream_name="nope")


def test_entry_points_register_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package can add a Stream class through the entry point group
    ``streaming_streams_registry``, as with the peer (catalogue's entry points)."""
    (tmp_path / "plugin_streams.py").write_text(
        "from streaming import Stream\n\nclass PluginStream(Stream):\n    pass\n"
    )
    info = tmp_path / "plugin_streams-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-streams\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[streaming_streams_registry]\nplugin = plugin_streams:PluginStream\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "plugin" in streams_registry
    assert streams_registry.get("plugin").__name__ == "PluginStream"
    assert sorted(streams_registry.get_all()) == ["plugin", "stream"]
