#!/bin/sh
# Makes the virtual environments the integration tests (tests/integrations/) run other packages
# in, at pinned versions, under .cache/venvs: g4f 6.7.1 and the newest g4f cannot share one, and
# llm, the recipes' clients and aider would pull our dev environment's versions around. A venv
# whose pins (and, for those holding raycast-ai, pyproject.toml and this folder) have not changed
# is kept.
# Usage: scripts/install-test-venvs.sh [NAME ...]   (no NAME: all of them; RAYCAST_AI_VENVS: another
# folder than .cache/venvs)
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
ROOT="${RAYCAST_AI_VENVS:-.cache/venvs}"

# NAME|holds raycast-ai (editable, from this working tree)|packages
SPECS='g4f-6.7.1|yes|g4f==6.7.1
g4f-8.8.6|yes|g4f==8.8.6
llm|yes|llm==0.36
recipes|no|litellm[proxy]==1.105.0 langchain-openai==1.8.1 langchain-anthropic==1.7.10
aider|no|aider-chat==0.86.2'

echo "$SPECS" | while IFS='|' read -r name ours packages; do
    [ $# -eq 0 ] || case " $* " in *" $name "*) ;; *) continue ;; esac
    venv="$ROOT/$name"
    stamp="$packages"
    if [ "$ours" = yes ]; then
        stamp="$stamp $(cksum <pyproject.toml | cut -d' ' -f1) $(pwd)"  # an editable install
        packages="-e . $packages"
    fi
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ]; then
        continue
    fi
    echo "install-test-venvs: making $venv ($packages)" >&2
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    # shellcheck disable=SC2086 # the package list is split on purpose
    if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $packages; then
        echo "$stamp" >"$venv/.stamp"
    else
        echo "install-test-venvs: could not install $packages into $venv (is PyPI reachable?)" >&2
        rm -rf "$venv"
        exit 1
    fi
done
