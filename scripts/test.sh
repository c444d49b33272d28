#!/usr/bin/env bash
# The README's test command (`make test`) runs this after `make setup`.
# It builds what the tests need on a fresh machine, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The peer (mosaicml-streaming 0.13.0) in a venv of its own, built once and cached.
bash scripts/peer_venv.sh mosaic >/dev/null
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
