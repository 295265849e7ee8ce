"""`raycast-ai run TITLE`: placeholders filled, creativity as temperature, the model resolved,
and the answer streamed and logged as `ask` does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pexpect
import pytest

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.history import LOG_FILE, History
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke, Run
from .test_aicommands import write_export
from .test_ask import expected


@pytest.fixture(autouse=True)
def imported(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("commands", "import", str(write_export(tmp_path / "downloads")))
    assert result.exit_code == 0, result.stderr


def sent(emulator: EmulatorServer) -> dict[str, Any]:
    body: dict[str, Any] = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    return body


def prompt_of(body: dict[str, Any]) -> str:
    text: str = body["messages"][-1]["content"]["text"]
    return text


def test_selection_and_arguments_fill_the_prompt_and_stream_like_ask(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    result = invoke("run", "Translate", "--arg", "tone=casual", input="  Guten Morgen!  \n")
    assert result.exit_code == 0, result.stderr
    prompt = "Translate into French with a casual tone:\n\nGuten Morgen!"
    body = sent(emulator)
    assert prompt_of(body) == prompt
    # The command's model is a provider model name, resolved in the catalog.
    assert (body["model"], body["provider"]) == ("gpt-4o", "openai")
    assert body["temperature"] == 0.0  # creativity "none"
    assert result.stdout == expected(prompt, "openai-gpt-4o") + "\n"
    assert result.stderr == ""


def test_an_argument_given_replaces_its_default(invoke: Invoke, emulator: EmulatorServer) -> None:
    result = invoke(
        "run", "translate", "--arg", "language=German", "--arg", "tone=formal", input="Hi"
    )
    assert result.exit_code == 0, result.stderr
    assert prompt_of(sent(emulator)) == "Translate into German with a formal tone:\n\nHi"


def test_creativity_reaches_the_request_as_temperature(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    result = invoke("run", "Improve Writing", input="their going to the park\n")
    assert result.exit_code == 0, result.stderr
    body = sent(emulator)
    assert body["temperature"] == 0.4  # "low"
    assert (body["model"], body["provider"]) == ("claude-sonnet-4-20250514", "anthropic")
    assert prompt_of(body).endswith("Text: their going to the park")
    overridden = invoke("run", "Improve Writing", "--temperature", "0.9", input="x")
    assert overridden.exit_code == 0, overridden.stderr
    assert sent(emulator)["temperature"] == 0.9


def test_a_missing_argument_without_a_terminal_is_an_error_before_any_request(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder.for_path(CHAT_PATH))
    result = invoke("run", "Translate", input="Hallo")
    assert result.exit_code == 2
    assert "'Translate' needs --arg tone=VALUE" in result.stderr
    wrong = invoke("run", "Translate", "--arg", "tone=angry", input="Hallo")
    assert wrong.exit_code == 2
    assert "tone must be one of formal, casual, not 'angry'" in wrong.stderr
    unknown = invoke("run", "Translate", "--arg", "mood=x", "--arg", "tone=formal", input="Hi")
    assert unknown.exit_code == 2
    assert "'Translate' has no argument 'mood' (its arguments: language, tone)" in unknown.stderr
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before


def test_a_selection_command_with_nothing_piped_says_to_pipe(invoke: Invoke) -> None:
    result = invoke("run", "Improve Writing")
    assert result.exit_code == 2
    assert "'Improve Writing' works on a selection ({selection}): pipe the text in" in (
        result.stderr
    )


def test_the_clipboard_is_read_with_the_first_tool_on_path(
    run: Run, emulator: EmulatorServer, tmp_path: Path
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    pbpaste = tools / "pbpaste"
    pbpaste.write_text("#!/bin/sh\nprintf 'a monad is a monoid in the category of endofunctors'\n")
    pbpaste.chmod(0o755)
    done = run(
        "run", "Explain Clipboard", extra={"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    )
    assert done.code == 0, done.stderr
    body = sent(emulator)
    assert prompt_of(body) == (
        "Explain this in simple words: a monad is a monoid in the category of endofunctors"
    )
    assert body["model"] == "o3"
    assert "temperature" not in body  # creativity "high", but o3 takes no temperature


def test_no_clipboard_tool_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run("run", "Explain Clipboard", extra={"PATH": str(empty)})
    assert done.code == 3
    assert done.stderr == (
        "Error: The command uses {clipboard}, but no clipboard tool is on PATH (pbpaste, "
        "wl-paste, xclip, xsel): install one (wl-clipboard or xclip on Linux).\n"
    )


def test_an_unknown_model_names_the_command_and_m_overrides_it(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    result = invoke("run", "Brainstorm", "--arg", "argument=tea")
    assert result.exit_code == 7
    assert result.stderr.splitlines()[-1].startswith(
        "Error: The AI Command 'Brainstorm' asks for the model 'anthropic-claude-haiku', which "
        "is not in Raycast's catalog."
    )
    assert "Pass -m MODEL" in result.stderr
    chosen = invoke("run", "Brainstorm", "--arg", "argument=tea", "-m", "claude-sonnet-4")
    assert chosen.exit_code == 0, chosen.stderr
    body = sent(emulator)
    assert body["model"] == "claude-sonnet-4-20250514"
    assert body["temperature"] == 1.3  # "maximum"
    # {day} is filled in; {browser-tab} is not something a terminal has: sent as written.
    assert (
        prompt_of(body) == f"Ten ideas about tea for {datetime.now():%A}. Ignore {{browser-tab}}."
    )
    assert chosen.stderr == "warning: sent as written, not filled in: {browser-tab}\n"


def test_piped_text_follows_a_prompt_without_selection_and_the_run_is_logged(
    invoke: Invoke, emulator: EmulatorServer, home: Path
) -> None:
    result = invoke("run", "Summarize", "--json", input="Line one.\nLine two.\n")
    assert result.exit_code == 0, result.stderr
    body = sent(emulator)
    prompt = "Summarize the text below in three bullet points.\n\nLine one.\nLine two."
    assert prompt_of(body) == prompt
    assert body["model"] == "gpt-4o-mini"  # no model in the command: the default
    assert "temperature" not in body
    answer = json.loads(result.stdout)
    assert answer["text"] == expected(prompt)
    with History(home / LOG_FILE) as history:
        [row] = history.recent()
    assert row.prompt == prompt
    assert row.response == answer["text"]


def test_an_unknown_title_suggests_the_close_one(invoke: Invoke) -> None:
    result = invoke("run", "Sumarize")
    assert result.exit_code == 3
    assert "There is no AI Command 'Sumarize'. Did you mean 'Summarize'?" in result.stderr


def test_an_argument_is_asked_for_on_a_terminal(env: dict[str, str]) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "run", "Brainstorm", "-m", "gpt-4o", "--no-md"],
        env={**os.environ, **env, "TERM": "xterm"},
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=15,
    )
    try:
        child.expect("argument: ")
        child.sendline("green tea")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before or "")
    assert child.exitstatus == 0, shown
    prompt = f"Ten ideas about green tea for {datetime.now():%A}. Ignore {{browser-tab}}."
    assert expected(prompt, "openai-gpt-4o")[:40] in shown.replace("\r\n", "\n")


def test_the_new_commands_import_nothing_heavy_until_they_run() -> None:
    code = (
        "import sys; from raycast_ai.cli import run, roles, aicommands, ask, chat; "
        "heavy = [m for m in ('rich', 'httpx2', 'prompt_toolkit', 'raycast_ai.client') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
