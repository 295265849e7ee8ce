"""The `raycast-ai` entry point: the fast help page, lazy imports, `ask` as the fallback."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from raycast_ai import __version__
from raycast_ai.cli import app, commands
from raycast_ai.cli.app import cli, mistyped, with_default_command
from raycast_ai.cli.main import main
from raycast_ai.emulator.server import EmulatorServer

from .conftest import Invoke


def test_the_fast_help_page_is_the_one_click_prints() -> None:
    clicks = CliRunner().invoke(cli, ["--help"], prog_name="raycast-ai", terminal_width=80)
    assert clicks.exit_code == 0
    assert commands.root_help() == clicks.stdout


def test_main_prints_it_without_click(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    assert capsys.readouterr().out == commands.root_help()
    main(["--version"])
    assert capsys.readouterr().out == f"raycast-ai {__version__}\n"


def test_a_help_text_that_needs_wrapping_is_left_to_click(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(commands.COMMANDS, "ask", "word " * 30)
    assert commands.root_help() is None


def test_help_and_version_import_neither_click_nor_the_client() -> None:
    code = (
        "import sys; from raycast_ai.cli.main import main; main(['--help']); main(['--version']); "
        "heavy = [m for m in ('click', 'typing', 'rich', 'httpx2', 'prompt_toolkit', "
        "'raycast_ai.client', 'raycast_ai.history') if m in sys.modules]; "
        "print(heavy, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={}
    )
    assert done.stderr.strip() == "[]"


def test_without_click_the_command_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['click'] = None; "  # as after `pip install raycast-ai`
        "from raycast_ai.cli.main import main; main(['--version']); main(['hello'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (1, f"raycast-ai {__version__}\n")
    assert done.stderr == (
        "Error: click is not installed; the command line needs it: pip install 'raycast-ai[cli]'\n"
    )


def test_commands_import_nothing_heavy_until_they_run() -> None:
    code = (
        "import sys; from raycast_ai.cli.app import cli; "
        "from raycast_ai.cli import ask, chat, models, aliases, logs, auth, serve, emulate, demo; "
        "heavy = [m for m in ('rich', 'httpx2', 'prompt_toolkit', 'raycast_ai.client', "
        "'raycast_ai.server', 'raycast_ai.emulator.server', 'uvicorn', 'fastapi') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_each_short_help_is_the_commands_own() -> None:
    ctx = click.Context(cli)
    for name, short in commands.COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(limit=200) == short, name


@pytest.mark.parametrize(
    ("args", "routed"),
    [
        (["hello"], ["ask", "hello"]),
        (["-m", "x", "hello"], ["ask", "-m", "x", "hello"]),
        (["--debug", "hello"], ["--debug", "ask", "hello"]),
        (["--debug", "logs"], ["--debug", "logs"]),
        (["logs", "-n", "2"], ["logs", "-n", "2"]),
        (["--help"], ["--help"]),
        (["ask", "chat"], ["ask", "chat"]),
    ],
)
def test_an_unknown_first_argument_is_a_prompt(args: list[str], routed: list[str]) -> None:
    assert with_default_command(args) == routed


def test_python_dash_m_and_the_console_script(tmp_path: object) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "raycast_ai", "--version"], capture_output=True, text=True
    )
    assert done.stdout == f"raycast-ai {__version__}\n"
    usage = subprocess.run(
        [sys.executable, "-m", "raycast_ai", "ask", "--help"], capture_output=True, text=True
    )
    assert usage.returncode == 0
    assert usage.stdout.startswith("Usage: raycast-ai ask [OPTIONS] [PROMPT]...")


def test_the_epilog_lists_the_exit_codes() -> None:
    assert "Exit codes:" in commands.epilog()
    assert "  130  interrupted (Ctrl-C)" in commands.epilog()
    assert app.cli.epilog == commands.epilog()


@pytest.mark.parametrize(
    ("word", "suggestion"),
    [("modles", "raycast-ai models"), ("chta", "raycast-ai chat"), ("lgos", "raycast-ai logs")],
)
def test_a_mistyped_command_is_not_sent_as_a_prompt(
    invoke: Invoke, emulator: EmulatorServer, word: str, suggestion: str
) -> None:
    before = len(emulator.recorder.requests)
    result = invoke(word)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: '{word}' is not a command. Did you mean '{suggestion}'?\n"
        f"To ask it as a question: raycast-ai ask {word}\n"
    )
    assert len(emulator.recorder.requests) == before  # nothing was asked, not even the models


def test_options_around_a_mistyped_command_do_not_hide_it(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder.requests)
    result = invoke("modles", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "UsageError"
    assert "Did you mean 'raycast-ai models'?" in error["message"]
    assert invoke("-m", "openai-gpt-4o", "chta").exit_code == 2
    assert len(emulator.recorder.requests) == before


def test_help_as_a_word_points_to_the_help(invoke: Invoke, emulator: EmulatorServer) -> None:
    before = len(emulator.recorder.requests)
    result = invoke("help")
    assert result.exit_code == 2
    assert "raycast-ai --help" in result.stderr
    assert "To ask it as a question: raycast-ai ask help" in result.stderr
    assert len(emulator.recorder.requests) == before


def test_one_word_questions_and_explicit_asks_still_go(invoke: Invoke) -> None:
    for args in (["hello"], ["ask", "modles"], ["ask", "help"], ["what", "are", "models"]):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout.strip()


def test_mistyped_words_and_real_questions() -> None:
    assert mistyped(["server"]) is not None
    assert mistyped(["emulator"]) is not None
    for fine in (["hello"], ["thanks"], ["-x"], ["models please"], ["explain", "logs"], []):
        assert mistyped(fine) is None, fine
