#!/usr/bin/env bash
# Build (once) and print the path of a peer library's own venv.
#
#   scripts/peer_venv.sh mosaic     -> mosaicml-streaming 0.13.0
#   scripts/peer_venv.sh litdata    -> litdata 0.2.76
#
# Peers never go into the project's .venv: mosaicml-streaming is also imported as
# `streaming`. Each venv lives under ~/.cache/streaming-dev/venvs/<name>-<hash of
# its pin files>, so it is reused between runs and rebuilt when the pins change.
set -euo pipefail
name="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/tests/peers/$name.txt"
nodeps="$root/tests/peers/$name.nodeps.txt"
[ -f "$req" ] || { echo "peer_venv: no pin file $req" >&2; exit 2; }
hash="$(cat "$req" "$nodeps" 2>/dev/null | sha256sum | cut -c1-12)"
base="${HOME}/.cache/streaming-dev/venvs"
dir="$base/$name-$hash"
mkdir -p "$base"
exec 9>"$base/$name.lock"
flock 9
if [ ! -f "$dir/.ready" ]; then
  echo "peer_venv: building $dir (one time, a few minutes)" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q -r "$req" >&2
  if [ -f "$nodeps" ]; then "$dir/bin/pip" install -q --no-deps -r "$nodeps" >&2; fi
  touch "$dir/.ready"
fi
echo "$dir"
