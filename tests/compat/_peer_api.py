"""What a module path exposes: for each public name, its kind and call signature's parameters.

`API` is source code run in both venvs (ours and mosaicml-streaming 0.13.0's): it prints, as
JSON, ``{module: {name: {"kind": ..., "params": [[name, kind, has_default], ...]}}}`` for the
modules and names asked. `call_problems` says whether every call the peer's signature accepts
is accepted by ours.
"""

from __future__ import annotations

import json
import subprocess
import sys

API = r'''
import importlib, inspect, json, sys

def params(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    found = [
        [p.name, p.kind.name, p.default is not inspect.Parameter.empty]
        for p in sig.parameters.values()
    ]
    return found[1:] if inspect.isclass(obj) and found[:1] and found[0][0] == "self" else found

def describe(module, names):
    mod = importlib.import_module(module)
    out = {}
    for name in names or list(getattr(mod, "__all__", [])):
        if not hasattr(mod, name):
            out[name] = {"kind": "missing"}
            continue
        obj = getattr(mod, name)
        kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "value"
        out[name] = {"kind": kind, "params": params(obj) if kind != "value" else None}
    return out

request = json.loads(sys.argv[1])
print(json.dumps({m: describe(m, names) for m, names in request.items()}))
'''


def describe_here(request: dict[str, list[str]]) -> dict:
    """`API` run in our venv (a fresh interpreter, so nothing imported by the tests leaks)."""
    proc = subprocess.run(
        [sys.executable, "-c", API, json.dumps(request)], capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-4000:])
    return json.loads(proc.stdout)


def call_problems(mine: list, theirs: list) -> list[str]:
    """Why a call valid for the peer's parameters `theirs` could fail with ours (`mine`):
    positional parameters must have the same names in the same order, every keyword the peer
    takes must be taken (by name or ``**kwargs``), and our extra parameters must be optional."""
    def positional(params: list) -> list:
        return [p for p in params if p[1] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]

    problems = []
    ours_pos, theirs_pos = positional(mine), positional(theirs)
    if [p[0] for p in ours_pos[: len(theirs_pos)]] != [p[0] for p in theirs_pos]:
        problems.append(
            f"positional {[p[0] for p in ours_pos]} vs the peer's {[p[0] for p in theirs_pos]}"
        )
    names = {p[0] for p in mine}
    var_kw = any(p[1] == "VAR_KEYWORD" for p in mine)
    var_pos = any(p[1] == "VAR_POSITIONAL" for p in mine)
    for name, kind, _ in theirs:
        if kind == "KEYWORD_ONLY" and name not in names and not var_kw:
            problems.append(f"keyword {name!r} not accepted")
        if kind == "VAR_KEYWORD" and not var_kw:
            problems.append("no **kwargs")
        if kind == "VAR_POSITIONAL" and not var_pos:
            problems.append("no *args")
    theirs_names = {p[0] for p in theirs}
    for name, kind, has_default in mine:
        if name not in theirs_names and kind not in ("VAR_KEYWORD", "VAR_POSITIONAL"):
            if not has_default:
                problems.append(f"our extra parameter {name!r} is required")
    return problems
