#!/bin/sh
# Sets up .venv (Python 3.11+) and runs the demo: the embedded Raycast emulator answering through
# the real client, signed and streamed.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[all]'
exec .venv/bin/raycast-ai demo "$@"
