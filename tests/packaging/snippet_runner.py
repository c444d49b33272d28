"""Run one of the README's training snippets as written (issue 13).

    python snippet_runner.py {lightning|composer} SNIPPET.py RECORD KILL_AFTER [--user-package]

in a directory holding ``./data``. The snippet gets what the README says the user brings:
``model`` (a model that appends the sample ids of each training step to RECORD, one JSON line
a step, and SIGKILLs this process after step KILL_AFTER unless it is 0) and ``to_tensors`` (the
per-sample transform). A finished run writes ``facts.json``: where ``streaming`` and the adapter
were imported from and, with ``--user-package``, the user's own top-level ``integrations``
package (imported before the snippet), which must still be the one in ``sys.modules``.

Standalone on purpose: the packaging test copies it next to the data and runs it with a fresh
venv's Python, so nothing of the repository is on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import torch


def to_tensors(sample: dict[str, Any]) -> dict[str, Any]:
    """The snippets' per-sample transform: the id, and a feature made from it."""
    return {"id": sample["id"], "x": torch.tensor([sample["id"] % 7 / 7.0])}


class Recorder:
    """Appends each training step's ids to a file; SIGKILLs this process after step `kill_after`."""

    def __init__(self, path: str, kill_after: int) -> None:
        self.path = path
        self.kill_after = kill_after
        self.steps = 0

    def trained(self, ids: torch.Tensor) -> None:
        self.steps += 1
        with open(self.path, "a") as f:
            f.write(json.dumps([int(i) for i in ids]) + "\n")

    def step_done(self) -> None:
        if self.kill_after and self.steps == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


def lightning_model(recorder: Recorder) -> Any:
    import lightning.pytorch as pl

    class IdModel(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(1, 1)

        def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
            recorder.trained(batch["id"])
            return self.layer(batch["x"]).pow(2).mean()

        def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
            recorder.step_done()

        def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
            self.log("val_loss", self.layer(batch["x"]).pow(2).mean())

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return IdModel()


def composer_model(recorder: Recorder) -> Any:
    from composer.models import ComposerModel

    class IdModel(ComposerModel):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(1, 1)

        def forward(self, batch: dict[str, Any]) -> torch.Tensor:
            if self.training:
                recorder.step_done()  # after the previous step
                recorder.trained(batch["id"])
            return self.layer(batch["x"])

        def loss(self, outputs: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
            return outputs.pow(2).mean()

    return IdModel()


def main() -> None:
    kind, snippet, record, kill_after = sys.argv[1:5]
    user = None
    if "--user-package" in sys.argv[5:]:
        import integrations.lightning as user  # the user's own, first
    recorder = Recorder(record, int(kill_after))
    model = composer_model(recorder) if kind == "composer" else lightning_model(recorder)
    namespace = {"__name__": "__main__", "model": model, "to_tensors": to_tensors}
    code = Path(snippet).read_text()
    exec(compile(code, f"README.md ({kind} snippet)", "exec"), namespace)
    adapter = sys.modules[f"streaming.integrations.{kind}"]
    facts: dict[str, Any] = {
        "streaming": sys.modules["streaming"].__file__,
        "adapter": adapter.__file__,
        "trained_steps": recorder.steps,
    }
    if user is not None:
        facts["user"] = {
            "file": user.__file__,
            "value": user.VALUE,
            "still_imported": sys.modules["integrations.lightning"] is user,
            "fresh_import": __import__("integrations.lightning").lightning.__file__,
        }
    Path("facts.json").write_text(json.dumps(facts))


if __name__ == "__main__":
    main()
