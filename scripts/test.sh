#!/bin/sh
# Sets up .venv with the dev extras (the test tools and every other extra) and runs everything CI
# runs: tests, lint, format, types. The agent tests' Claude Code and Codex CLI go to .cache/agents
# (scripts/install-agents.sh); without npm those tests fail and say how to install it.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy --strict src
./scripts/install-agents.sh || true
# A real redis-server for the shared store's tests (tests/store, tests/replicas); without it those
# tests fail and say how to install it.
./scripts/install-redis.sh || true
# g4f 6.7.1, the newest g4f, llm, the recipes' clients and aider, each in a venv of its own under
# .cache/venvs; tests/integrations fails and says how when they cannot be made.
./scripts/install-test-venvs.sh || true
.venv/bin/python -m pytest -q --hypothesis-profile=ci "$@"
