"""The `raycast-ai` entry point: the fast help page, lazy imports, `ask` as the fallback."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from raycast_ai import __version__
from raycast_ai.cli import app, commands
from raycast_ai.cli.app import cli, with_default_command
from raycast_ai.cli.main import main


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
