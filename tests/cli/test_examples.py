"""Every example in every command's --help and in the README's command-line section runs, as a
user would type it, in bash, against the emulator (its settings come from the environment).

The examples of one page run in order, as a reader would follow them, in a fresh data folder
holding one logged conversation whose id starts with 3F2A, the id the examples use, and a home
with a fish user's completions folder, in a folder holding the files the examples name (a PNG
screenshot, PDFs). Examples that need more than a shell get it: `auth set` a terminal (its
prompts are answered), `serve` and `emulate` a free port (they run until Ctrl-C), and stand-ins
on PATH for the programs that are not this project's (Claude Code and Codex CLI for `launch`,
pdftoppm). Each page takes a few seconds: the tests are marked slow.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import click
import httpx2
import pexpect
import pytest
from click.testing import CliRunner

from gateway import free_port
from raycast_ai.cli import saved
from raycast_ai.cli.app import cli
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.history import History

ROOT = Path(__file__).resolve().parents[2]
CID = "3F2A0C1E-5B7D-4E8F-9A10-2B3C4D5E6F70"
SECTION = "## Command line"


def command_paths(
    group: click.Group = cli, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


def help_examples() -> list[tuple[str, str]]:
    """(where, command line) of each example line of each --help page: a line that starts with
    `raycast-ai ` or pipes into it; what follows two spaces is its description."""
    found: list[tuple[str, str]] = []
    for path in [(), *command_paths()]:
        page = CliRunner().invoke(cli, [*path, "--help"], prog_name="raycast-ai").output
        for line in page.splitlines():
            text = line.strip()
            if text.startswith("raycast-ai ") or re.match(
                r"^[\w.-]+( [^|]+)? \| raycast-ai ", text
            ):
                example = re.split(r"\s{2,}", text)[0]
                found.append((" ".join(["raycast-ai", *path, "--help"]), example))
    return found


def readme_examples() -> list[tuple[str, str]]:
    """The lines of the sh code blocks of the README's command-line section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [("README", line) for block in blocks for line in block.splitlines() if line.strip()]


EXAMPLES = help_examples() + readme_examples()
PAGES: dict[str, list[str]] = {}
for _where, _line in EXAMPLES:
    PAGES.setdefault(_where, []).append(_line)


def test_the_examples_were_found() -> None:
    where = {w for w, _ in EXAMPLES}
    assert {"raycast-ai --help", "raycast-ai ask --help", "raycast-ai logs --help"} <= where
    assert "README" in where
    assert ("raycast-ai ask --help", 'git diff | raycast-ai "write a commit message"') in EXAMPLES


@pytest.fixture
def shell_env(env: dict[str, str], tmp_path: Path, home: Path) -> dict[str, str]:
    """bash's environment: the emulator's settings, a HOME of its own, and on PATH
    `raycast-ai` (this checkout's) and stand-ins for the agents `launch` runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    png = tmp_path / "screenshot.png"
    png.write_bytes(tiny_png())
    for name in ("report.pdf", "a.pdf"):
        (tmp_path / name).write_bytes(TINY_PDF)
    commands = {
        "raycast-ai": f'exec "{sys.executable}" -m raycast_ai "$@"',
        "claude": 'echo "claude $*"',
        "codex": 'echo "codex $*"',
        "pdftoppm": f'cat "{png}"',  # a page as PNG on stdout, as `pdftoppm -png -singlefile`
    }
    commands["pbpaste"] = 'echo "Their is a typo in this sentense."'
    user_home = tmp_path / "user"
    (user_home / ".config" / "fish" / "completions").mkdir(parents=True)
    # Raycast's AI Commands export, where the examples look for it, and already imported for
    # the pages that run commands without importing them first.
    (user_home / "Downloads").mkdir()
    for where in (user_home / "Downloads", tmp_path):
        (where / "ai-commands.json").write_text(json.dumps(AI_COMMANDS), encoding="utf-8")
    saved.save_commands(saved.parse_commands(AI_COMMANDS, "the examples' export"))
    # A repository with a change, for the examples that pipe `git diff`.
    (tmp_path / "app.py").write_text('print("hello")\n', encoding="utf-8")
    git = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "app.py"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "hello"], cwd=tmp_path, check=True)
    (tmp_path / "app.py").write_text('print("hello, world")\n', encoding="utf-8")
    (tmp_path / "NOTES.md").write_text("# Notes\n\n- says hello\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("Good morning, everyone.\n", encoding="utf-8")
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    with History.open(home) as log:
        log.create("openai-gpt-4o-mini", CID)
        log.finish(log.start(CID, "what is a monad?", None, "openai-gpt-4o-mini"), "A monoid.")
    return {
        **os.environ,
        **env,
        "HOME": str(user_home),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "NO_COLOR": "1",
    }


AI_COMMANDS = [
    {
        "title": "Improve Writing",
        "prompt": "Improve the writing:\n\n{selection}",
        "creativity": "low",
        "icon": "pencil",
        "model": "openai-gpt-4o-mini",
    },
    {
        "title": "Translate",
        "creativity": "none",
        "icon": "globe",
        "prompt": 'Translate into {argument name="language" default="French"}:\n\n{selection}',
    },
    {
        "title": "Write Commit Message",
        "prompt": "A commit message for this diff:\n\n{selection}",
        "creativity": "medium",
        "icon": "git",
    },
]

TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def tiny_png() -> bytes:
    """A 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _up(url: str, seconds: float = 15.0) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx2.get(url, timeout=1.0).status_code
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def run_server(line: str, environ: dict[str, str], cwd: Path) -> None:
    port = free_port()
    child = subprocess.Popen(
        ["bash", "-c", f"exec {line} --port {port}"],
        env=environ,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        path = "/health" if " serve" in line else "/api/v1/ai/models"
        assert _up(f"http://127.0.0.1:{port}{path}") == 200
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=15)
    assert child.returncode == 0, (line, out, err)


def run_in_terminal(line: str, environ: dict[str, str], cwd: Path) -> None:
    """`auth set` as typed: each hidden prompt answered with the emulator's values."""
    child = pexpect.spawn(
        "bash", ["-c", line], env=environ, cwd=str(cwd), encoding="utf-8", timeout=20
    )
    answers = [
        (r"(?i)token[^\n]*: ?", EMULATOR_TOKEN),
        (r"(?i)secret[^\n]*: ?", EMULATOR_SECRET),
        (r"(?i)device id[^\n]*: ?", ""),
    ]
    while True:
        index = child.expect([pattern for pattern, _ in answers] + [pexpect.EOF])
        if index == len(answers):
            break
        child.sendline(answers[index][1])
    child.close()
    assert child.exitstatus == 0, (line, child.before)


@pytest.mark.slow
@pytest.mark.parametrize("where", list(PAGES))
def test_the_examples_of_each_page_run(
    shell_env: dict[str, str], tmp_path: Path, where: str
) -> None:
    for line in PAGES[where]:
        run_example(line, shell_env, tmp_path)


def run_example(line: str, environ: dict[str, str], cwd: Path) -> None:
    words = shlex.split(line, comments=True)
    if words[:2] in (["raycast-ai", "serve"], ["raycast-ai", "emulate"]):
        run_server(shlex.join(words), environ, cwd)
        return
    if words == ["raycast-ai", "auth", "set"]:
        run_in_terminal(line, environ, cwd)
        return
    done = subprocess.run(
        ["bash", "-c", line],
        env=environ,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (line, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, line
