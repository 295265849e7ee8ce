"""`raycast-ai completion SHELL`: the scripts, and what they complete (commands, flags, model ids
from the cached catalog, without a request), driven through click's completion variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from raycast_ai.cli import completion
from raycast_ai.client import MODELS_CACHE_FILE
from raycast_ai.emulator.server import EmulatorServer

from .conftest import Run

MARKERS = {
    "bash": "complete -o nosort -F _raycast_ai_completion raycast-ai",
    "zsh": "#compdef raycast-ai",
    "fish": "complete --no-files --command raycast-ai",
}


def complete(run: Run, shell: str, line: str) -> list[str]:
    """The values `shell` would offer for `line` (the word after its last space is being typed)."""
    words = line.split(" ")
    extra = {completion.COMPLETE_VAR: f"{shell}_complete", "COMP_WORDS": line}
    extra["COMP_CWORD"] = words[-1] if shell == "fish" else str(len(words) - 1)
    done = run(extra=extra)
    assert done.code == 0, done.stderr
    out = done.stdout.strip("\n")
    if shell == "bash":
        return [row.split(",", 1)[1] for row in out.splitlines()]
    if shell == "zsh":
        rows = out.splitlines()
        return [rows[i + 1] for i in range(0, len(rows), 3)]
    return [row.split("\t", 1)[0].split(",", 1)[1] for row in out.splitlines()]


@pytest.mark.parametrize("shell", list(MARKERS))
def test_the_script_of_each_shell(run: Run, shell: str) -> None:
    done = run("completion", shell)
    assert done.code == 0, done.stderr
    assert MARKERS[shell] in done.stdout
    assert completion.COMPLETE_VAR in done.stdout


def test_an_unknown_shell_is_a_usage_error(run: Run) -> None:
    done = run("completion", "tcsh")
    assert done.code == 2
    assert "'bash', 'zsh', 'fish'" in done.stderr


@pytest.mark.parametrize("shell", list(MARKERS))
def test_model_ids_come_from_the_cached_catalog_without_a_request(
    run: Run, emulator: EmulatorServer, home: Path, shell: str
) -> None:
    assert run("aliases", "set", "quick", "openai-gpt-4o").code == 0  # also caches the catalog
    assert (home / MODELS_CACHE_FILE).exists()
    before = len(emulator.recorder.requests)
    offered = complete(run, shell, "raycast-ai -m ")
    assert {"openai-gpt-4o-mini", "anthropic-claude-sonnet-4", "quick"} <= set(offered)
    assert complete(run, shell, "raycast-ai chat --model anthropic-claude-s") == [
        "anthropic-claude-sonnet-4"  # its deprecated -reasoning twin is not offered
    ]
    assert "google-gemini-2.5-pro" in complete(run, shell, "raycast-ai models default goo")
    assert len(emulator.recorder.requests) == before


@pytest.mark.parametrize("shell", list(MARKERS))
def test_commands_and_flags(run: Run, shell: str) -> None:
    assert complete(run, shell, "raycast-ai lo") == ["logs"]
    assert "completion" in complete(run, shell, "raycast-ai ")
    assert "--query" in complete(run, shell, "raycast-ai logs --")
    assert {"--model", "--system"} <= set(complete(run, shell, "raycast-ai ask --"))
    assert complete(run, shell, "raycast-ai completion z") == ["zsh"]


def test_no_cached_catalog_offers_no_models(run: Run, home: Path) -> None:
    assert complete(run, "bash", "raycast-ai -m ") == []
    home.mkdir(parents=True, exist_ok=True)
    (home / MODELS_CACHE_FILE).write_text("{not json")
    assert complete(run, "bash", "raycast-ai -m ") == []


def test_bash_runs_the_script(run: Run, env: dict[str, str], tmp_path: Path) -> None:
    """The bash script itself, sourced in bash, fills COMPREPLY through the command."""
    run("models")  # caches the catalog
    shim = tmp_path / "bin" / "raycast-ai"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m raycast_ai "$@"\n')
    shim.chmod(0o755)
    script = run("completion", "bash").stdout
    probe = (
        f"{script}\n"
        "COMP_WORDS=(raycast-ai -m openai-gpt-4o); COMP_CWORD=2; "
        "_raycast_ai_completion raycast-ai; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    environ = {**os.environ, **env, "PATH": f"{shim.parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "--norc", "-c", probe], capture_output=True, text=True, env=environ, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["openai-gpt-4o-mini", "openai-gpt-4o"]


def test_the_cache_file_name_is_the_clients() -> None:
    assert completion.MODELS_CACHE_FILE == MODELS_CACHE_FILE
