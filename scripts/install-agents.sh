#!/bin/sh
# Installs the coding agents the end-to-end tests drive (tests/agents/) into .cache/agents, at
# the pinned versions; does nothing when they are already there. Needs Node.js and npm.
set -eu
cd "$(dirname "$0")/.."
CLAUDE_CODE_VERSION=2.1.332
CODEX_VERSION=0.171.0
PREFIX=.cache/agents

if ! command -v npm >/dev/null 2>&1; then
    echo "install-agents: npm not found; the agent tests will fail. Install Node.js 20 or later" \
        "with npm (https://nodejs.org/en/download, or: sudo apt-get install nodejs npm)." >&2
    exit 1
fi
installed() {
    node -p "require('./$PREFIX/node_modules/$1/package.json').version" 2>/dev/null || true
}
if [ "$(installed @anthropic-ai/claude-code)" = "$CLAUDE_CODE_VERSION" ] &&
    [ "$(installed @openai/codex)" = "$CODEX_VERSION" ] &&
    [ -x "$PREFIX/node_modules/.bin/claude" ] && [ -x "$PREFIX/node_modules/.bin/codex" ]; then
    exit 0
fi
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-audit --no-fund --no-save --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION"
# Claude Code's postinstall puts its native binary in place; an npm that holds back install
# scripts leaves a stub, so it runs here again.
if ! "$PREFIX/node_modules/.bin/claude" --version >/dev/null 2>&1; then
    (cd "$PREFIX/node_modules/@anthropic-ai/claude-code" && node install.cjs)
fi
"$PREFIX/node_modules/.bin/claude" --version
"$PREFIX/node_modules/.bin/codex" --version
