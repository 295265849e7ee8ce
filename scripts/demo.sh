#!/bin/sh
# Sets up .venv (Python 3.11+), runs the demo (the embedded Raycast emulator answering through
# the real client, signed and streamed), then makes `raycast-ai` runnable from any shell
# (scripts/put-on-path.sh says how it did).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[all]'
status=0
.venv/bin/raycast-ai demo "$@" || status=$?
echo
./scripts/put-on-path.sh .venv/bin
exit "$status"
