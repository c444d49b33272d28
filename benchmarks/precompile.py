"""Byte-compile the project's modules before a benchmark, as installing a wheel does.

The peers' venvs are installed from wheels, so their modules are compiled once at install. Our
package is an editable install: where ``PYTHONDONTWRITEBYTECODE`` is set (it is on this project's
development machines) every process would compile our modules from source again, which is a
cost of the checkout, not of the library. `compile_ours` writes the ``.pyc`` files once.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compile_ours() -> None:
    """Write the ``.pyc`` of every module of `streaming` (and the adapters), as pip does."""
    for package in ("streaming", "integrations"):
        if not compileall.compile_dir(str(ROOT / package), quiet=1, workers=0):
            raise RuntimeError(f"byte-compiling {ROOT / package} failed")
