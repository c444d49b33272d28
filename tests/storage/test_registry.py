"""The registry's answers for the schemes mosaicml-streaming reads: served ones name their extra,
unserved ones say why."""

from __future__ import annotations

import pytest

from streaming.storage import get_backend
from streaming.storage.registry import SCHEMES


def test_new_schemes_and_their_extras() -> None:
    assert {s: SCHEMES[s][2] for s in ("sftp", "hf", "azure-dl", "abfs", "abfss", "dbfs")} == {
        "sftp": "sftp", "hf": "hf", "azure-dl": "adls", "abfs": "adls", "abfss": "adls",
        "dbfs": "databricks",
    }


@pytest.mark.parametrize(("url", "reason"), [
    ("alipan:///data/ds", "alipan:// is not supported: its only client \\(AliPCS-Py"),
    ("adl://store/ds", "adl:// is not supported: Azure Data Lake Storage Gen1 is retired"),
])
def test_unsupported_schemes_say_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"Unsupported remote '{url}': {reason}"):
        get_backend(url)
