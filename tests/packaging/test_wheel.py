"""The built wheel, installed into a fresh venv next to a user's own top-level package named
``integrations``, runs the README's Lightning and Composer snippets (issue 13, item 8).

The wheel installs one top-level package, ``streaming``; the adapters are
``streaming.integrations.*`` and never shadow (or are shadowed by) a user's ``integrations``.
The fresh venv reuses this venv's installed dependencies through a ``.pth`` line (so it takes
seconds) and gets only our wheel installed, with ``--no-deps``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.packaging.readme import (
    REPO,
    RUNNER,
    run_snippet,
    snippet,
    uninterrupted_order,
    workdir,
    write_data,
)

USER_LIGHTNING = 'VALUE = "the user\'s own integrations.lightning"\n'


def _run(command: list[str], **kwargs: object) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{' '.join(command)}:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel --no-deps`` builds from a copy of the sources (no build output in
    the working tree; ``--no-build-isolation``: the build backend comes from this venv, offline)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "streaming", src / "streaming", symlinks=True, ignore=skip)
    shutil.copytree(REPO / "integrations", src / "integrations", ignore=skip)
    _run([
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", "-w", str(root / "dist"), str(src),
    ])  # fmt: skip
    (built,) = (root / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with our wheel installed in its site-packages, which sees this venv's
    dependencies after its own packages (a ``.pth`` line: this venv's own ``.pth`` files, the
    editable install of this repository among them, are not run)."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    python = root / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(deps)))
    # --target: install beside nothing (pip would take this venv's editable install as ours).
    _run([
        python, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
        "--disable-pip-version-check", "--target", str(site), str(wheel),
    ])  # fmt: skip
    return root


def test_wheel_holds_only_the_streaming_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"streaming", "openstreaming-0.1.0.dist-info"}
    for module in ("lightning", "composer", "_cursor", "recipes/__init__"):
        assert f"streaming/integrations/{module}.py" in names


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("wheel-data"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lightning", "composer"])
def test_readme_snippet_runs_from_the_wheel_beside_a_user_integrations_package(
    kind: str, venv: Path, data: Path, tmp_path: Path
) -> None:
    user = tmp_path / "user"
    (user / "integrations").mkdir(parents=True)
    (user / "integrations" / "__init__.py").write_text("")
    (user / "integrations" / "lightning.py").write_text(USER_LIGHTNING)
    run = workdir(tmp_path, "run", data)
    runner = shutil.copy(RUNNER, run / RUNNER.name)  # nothing of the repository on sys.path
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=str(user), PYTHONWARNINGS="ignore")

    steps, facts = run_snippet(
        str(venv / "bin" / "python"), kind, snippet(f"{kind}-resume"), run, env=env,
        runner=Path(runner), user_package=True,
    )  # fmt: skip
    assert steps == uninterrupted_order(data)
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert Path(facts["streaming"]) == site / "streaming" / "__init__.py"
    assert Path(facts["adapter"]) == site / "streaming" / "integrations" / f"{kind}.py"
    assert facts["user"] == {
        "file": str(user / "integrations" / "lightning.py"),
        "value": "the user's own integrations.lightning",
        "still_imported": True,
        "fresh_import": str(user / "integrations" / "lightning.py"),
    }
