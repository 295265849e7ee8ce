"""`raycast-ai commands`: Raycast's AI Commands export imported, listed, shown, removed."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from .conftest import Invoke

# What Raycast's "Export AI Commands" writes, with a key this client does not use and a command
# that leaves the optional ones out.
EXPORT: list[dict[str, Any]] = [
    {
        "title": "Improve Writing",
        "prompt": "Act as a copy editor. Improve the text, keep its tone.\n\nText: {selection}",
        "creativity": "low",
        "icon": "pencil",
        "model": "anthropic-claude-sonnet-4",
        "id": "8B1D0F4E-6A2C-4C55-9D1F-2B6E5A7C9E10",
    },
    {
        "title": "Translate",
        "prompt": (
            'Translate into {argument name="language" default="French"} with a '
            '{argument name="tone" options="formal, casual"} tone:\n\n{selection | trim}'
        ),
        "creativity": "none",
        "icon": "globe",
        "model": "gpt-4o",
    },
    {
        "title": "Explain Clipboard",
        "prompt": "Explain this in simple words: {clipboard}",
        "creativity": "high",
        "icon": "light-bulb",
        "model": "o3",
    },
    {
        "title": "Brainstorm",
        "prompt": "Ten ideas about {argument} for {day}. Ignore {browser-tab}.",
        "creativity": "maximum",
        "icon": "stars",
        "model": "anthropic-claude-haiku",
    },
    {"title": "Summarize", "prompt": "Summarize the text below in three bullet points."},
]


def write_export(folder: Path, commands: object = EXPORT, name: str = "ai-commands.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(commands, indent=2))
    return path


@pytest.fixture
def imported(invoke: Invoke, tmp_path: Path) -> Path:
    result = invoke("commands", "import", str(write_export(tmp_path / "downloads")))
    assert result.exit_code == 0, result.stderr
    return tmp_path


def test_an_export_is_imported_into_a_private_file_and_listed(
    invoke: Invoke, tmp_path: Path, home: Path
) -> None:
    result = invoke("commands", "import", str(write_export(tmp_path)))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Imported 5 AI Commands (5 new).\n"
    stored = home / "ai_commands.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600

    listed = invoke("commands", "list")
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["TITLE", "MODEL", "CREATIVITY"]
    assert [line.split("  ")[0] for line in lines[1:]] == [
        "Brainstorm",
        "Explain Clipboard",
        "Improve Writing",
        "Summarize",
        "Translate",
    ]
    improve = next(line for line in lines if line.startswith("Improve Writing"))
    assert improve.split() == ["Improve", "Writing", "anthropic-claude-sonnet-4", "low", "(0.4)"]
    summarize = next(line for line in lines if line.startswith("Summarize"))
    assert summarize.split() == ["Summarize", "(default)", "(default)"]

    rows = json.loads(invoke("commands", "list", "--json").stdout)
    translate = next(row for row in rows if row["title"] == "Translate")
    assert translate["model"] == "gpt-4o"
    assert translate["creativity"] == "none"
    assert translate["temperature"] == 0.0
    assert translate["prompt"] == EXPORT[1]["prompt"]


def test_importing_a_title_again_replaces_it_and_says_so(invoke: Invoke, imported: Path) -> None:
    changed = [{**EXPORT[0], "creativity": "high"}, {"title": "New One", "prompt": "Hi {date}"}]
    result = invoke("commands", "import", str(write_export(imported, changed, "again.json")))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Imported 2 AI Commands (1 new).\nReplaced: Improve Writing.\n"
    rows = json.loads(invoke("commands", "list", "--json").stdout)
    assert len(rows) == 6
    assert [r["creativity"] for r in rows if r["title"] == "Improve Writing"] == ["high"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('[{"title": "A", "prompt": "x"', "is not valid JSON (line 1, column"),
        ('{"title": "A", "prompt": "x"}', "expected a JSON list of AI Commands"),
        ('[{"title": "A", "icon": "x"}]', "command 1 ('A') has no 'prompt'"),
        ('[{"prompt": "x"}]', "command 1 has no 'title'"),
        ('[{"title": "A", "prompt": "x"}, 3]', "command 2 is a number, not an object"),
        ('[{"title": "A", "prompt": "x", "creativity": "wild"}]', "creativity 'wild' is not"),
        ('[{"title": "A", "prompt": "x", "model": 4}]', "'model' must be a string"),
    ],
)
def test_a_malformed_export_is_refused_in_one_line_naming_the_file(
    invoke: Invoke, tmp_path: Path, home: Path, content: str, said: str
) -> None:
    path = tmp_path / "export.json"
    path.write_text(content)
    result = invoke("commands", "import", str(path))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {path}")
    assert said in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (home / "ai_commands.json").exists()


def test_a_missing_or_binary_export_is_one_line_too(invoke: Invoke, tmp_path: Path) -> None:
    missing = invoke("commands", "import", str(tmp_path / "nope.json"))
    assert missing.exit_code == 3
    assert (
        missing.stderr == f"Error: Cannot read the export {tmp_path / 'nope.json'}: "
        "No such file or directory.\n"
    )
    binary = tmp_path / "export.json"
    binary.write_bytes(b"\xff\xfe\x00[")
    result = invoke("commands", "import", str(binary))
    assert result.exit_code == 3
    assert result.stderr == f"Error: Cannot read the export {binary}: not UTF-8 text.\n"


def test_an_export_can_be_piped_in(invoke: Invoke) -> None:
    result = invoke("commands", "import", "-", input=json.dumps(EXPORT[:2]))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Imported 2 AI Commands (2 new).\n"


def test_a_damaged_store_names_the_file_and_the_fix(invoke: Invoke, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "ai_commands.json").write_text("[{")
    result = invoke("commands", "list")
    assert result.exit_code == 3
    assert str(home / "ai_commands.json") in result.stderr
    assert "mv " in result.stderr and "import your commands again" in result.stderr


def test_show_prints_the_prompt_and_what_it_needs(invoke: Invoke, imported: Path) -> None:
    result = invoke("commands", "show", "translate")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == EXPORT[1]["prompt"] + "\n"
    assert "{selection}" in result.stderr
    assert "--arg language=… (default 'French')" in result.stderr
    assert "--arg tone=…" in result.stderr


def test_remove_forgets_a_command_and_names_the_close_ones(invoke: Invoke, imported: Path) -> None:
    result = invoke("commands", "remove", "Improve", "Writing")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Removed Improve Writing.\n"
    titles = [row["title"] for row in json.loads(invoke("commands", "list", "--json").stdout)]
    assert "Improve Writing" not in titles and len(titles) == 4
    again = invoke("commands", "remove", "Translat")
    assert again.exit_code == 3
    assert again.stderr == (
        "Error: There is no AI Command 'Translat'. Did you mean 'Translate'? "
        "Run 'raycast-ai commands list' to see them.\n"
    )


def test_list_without_commands_says_how_to_import(invoke: Invoke) -> None:
    result = invoke("commands")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "raycast-ai commands import FILE" in result.stderr
