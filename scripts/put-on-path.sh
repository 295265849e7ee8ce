#!/bin/sh
# Makes the `raycast-ai` of a virtualenv runnable from any shell (demo.sh runs it): a symlink in
# ~/.local/bin when that folder is on PATH, else the one line that puts the venv on PATH.
# Nothing that is already there is replaced. Usage: scripts/put-on-path.sh [VENV_BIN]
set -eu
BIN="$(cd "${1:-$(dirname "$0")/../.venv/bin}" && pwd)"
TARGET="$BIN/raycast-ai"
LINKS="$HOME/.local/bin"
LINK="$LINKS/raycast-ai"
FOUND="$(command -v raycast-ai 2>/dev/null || true)"

if [ -n "$FOUND" ] && [ "$FOUND" -ef "$TARGET" ]; then
    echo "raycast-ai is on your PATH: $FOUND"
    exit 0
fi
case ":$PATH:" in
*":$LINKS:"* | *":$LINKS/:"*)
    if [ -e "$LINK" ] || [ -L "$LINK" ]; then
        echo "$LINK already exists and is another raycast-ai; it was left as it is."
        echo "To use this one instead: ln -sf '$TARGET' '$LINK'"
        exit 0
    fi
    mkdir -p "$LINKS"
    ln -s "$TARGET" "$LINK"
    echo "raycast-ai is on your PATH now: $LINK -> $TARGET"
    FOUND="$(command -v raycast-ai 2>/dev/null || true)"
    if [ -n "$FOUND" ] && ! [ "$FOUND" -ef "$TARGET" ]; then
        echo "note: $FOUND comes first on your PATH; remove it, or move ~/.local/bin before it."
    fi
    ;;
*)
    echo "To run raycast-ai from any shell, add this line to your shell's profile (~/.profile,"
    echo "~/.bashrc or ~/.zshrc) and open a new terminal:"
    echo "  export PATH=\"$BIN:\$PATH\""
    ;;
esac
