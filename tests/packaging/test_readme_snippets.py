"""The README's Lightning and Composer snippets resume as written (issue 13, item 6).

Each snippet is taken from README.md by its marker (so the test fails if the README drifts)
and run as written in a fresh process, SIGKILLed mid-epoch 10 steps after its checkpoint at step
100; then the same snippet runs again and must train exactly what an uninterrupted run trains
from step 101 on, into the second epoch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.packaging.readme import (
    KILL_AFTER,
    REPO,
    RESUMED_FROM,
    STEPS_PER_EPOCH,
    run_snippet,
    snippet,
    uninterrupted_order,
    workdir,
    write_data,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("snippet-data"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lightning", "composer"])
def test_readme_snippet_resumes_as_written(kind: str, data: Path, tmp_path: Path) -> None:
    code = snippet(f"{kind}-resume")
    whole = uninterrupted_order(data)
    assert len(whole) == 2 * STEPS_PER_EPOCH  # the snippets' max_epochs=2 / max_duration="2ep"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    run = workdir(tmp_path, "run", data)
    crashed, _ = run_snippet(sys.executable, kind, code, run, kill_after=KILL_AFTER, env=env)
    assert crashed == whole[:KILL_AFTER]
    resumed, facts = run_snippet(sys.executable, kind, code, run, env=env)
    assert resumed[0] == whole[RESUMED_FROM], "the rerun did not resume at the checkpoint"
    assert resumed == whole[RESUMED_FROM:]
    adapter = REPO / "streaming" / "integrations" / f"{kind}.py"
    assert Path(facts["adapter"]).resolve() == adapter.resolve()
