#!/usr/bin/env bash
# Build (once) and print the path of a venv that runs llm-foundry 0.22.0 unmodified.
#
#   scripts/llmfoundry_venv.sh ours     -> llm-foundry over .venv (our `streaming`, editable)
#   scripts/llmfoundry_venv.sh mosaic   -> llm-foundry over the peer's venv (mosaicml-streaming 0.13.0)
#
# llm-foundry pins mosaicml-streaming<0.13 and torch<2.7.1, so it never goes into .venv. Each
# venv here is thin: llm-foundry and the packages of tests/peers/llmfoundry.nodeps.txt, all with
# --no-deps, plus one .pth that adds the base venv's site-packages after its own. torch 2.14.1,
# Composer 0.32.1 and `streaming` come from the base, so they are not installed (nor downloaded)
# twice, and the two venvs differ only in their base. Each lives under
# ~/.cache/streaming-dev/venvs/llmfoundry-<name>-<hash of the pins, this script and the base's
# path>, so it is reused between runs and rebuilt when any of those change.
set -euo pipefail
name="${1:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
pins="$root/tests/peers/llmfoundry.nodeps.txt"
case "$name" in
  ours)
    base="$root/.venv"
    [ -x "$base/bin/python" ] || { echo "llmfoundry_venv: $base/bin/python is missing: run 'make setup' first" >&2; exit 2; }
    ;;
  mosaic)
    base="$(bash "$root/scripts/peer_venv.sh" mosaic | tail -n 1)"
    ;;
  *)
    echo "llmfoundry_venv: usage: $0 ours|mosaic (got '${name}')" >&2
    exit 2
    ;;
esac
base_site="$("$base/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
hash="$({ cat "$pins" "$root/scripts/llmfoundry_venv.sh"; echo "$base_site"; } | sha256sum | cut -c1-12)"
cache="${HOME}/.cache/streaming-dev/venvs"
dir="$cache/llmfoundry-$name-$hash"
mkdir -p "$cache"
exec 9>"$cache/llmfoundry-$name.lock"
flock 9
if [ ! -f "$dir/.ready" ]; then
  echo "llmfoundry_venv: building $dir over $base (one time, about a minute)" >&2
  start=$SECONDS
  rm -rf "$dir"
  "$base/bin/python" -m venv "$dir"
  site="$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  # After this venv's own packages, everything of the base (its .pth files too: our editable
  # install is one), so a pin here shadows the base's version of the same package.
  printf 'import site; site.addsitedir(%s)\n' "'$base_site'" > "$site/zz_llmfoundry_base.pth"
  "$dir/bin/pip" install -q --disable-pip-version-check --no-deps -r "$pins" 2>&1 \
    | { grep -v "^WARNING: Location" || true; } >&2
  # The venv must resolve `streaming` to its base's, and llm-foundry's dependencies here.
  # (Run from /: a `streaming` folder in the working directory must not answer for the venv.)
  (cd / && "$dir/bin/python" - "$name" "$root") <<'EOF' >&2
import sys
from pathlib import Path

import composer
import streaming
import torch
import transformers

name, root = sys.argv[1], Path(sys.argv[2])
where = Path(streaming.__file__).resolve()
expected = root / "streaming" if name == "ours" else None
if name == "ours" and where.parent != expected:
    sys.exit(f"llmfoundry_venv: `streaming` resolves to {where}, not to {expected}")
if name == "mosaic" and "site-packages" not in where.parts:
    sys.exit(f"llmfoundry_venv: `streaming` resolves to {where}, not to mosaicml-streaming")
print(f"llmfoundry_venv: torch {torch.__version__}, composer {composer.__version__}, "
      f"transformers {transformers.__version__}, streaming from {where.parent}")
EOF
  touch "$dir/.ready"
  echo "llmfoundry_venv: built $dir in $((SECONDS - start)) s" >&2
fi
echo "$dir"
