"""`raycast-ai logs`: listing, searching, one conversation, JSON, off/on/path/status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raycast_ai.history import LOG_FILE

from .conftest import Invoke, Run


def test_listing_searching_and_one_conversation(run: Run, invoke: Invoke) -> None:
    first = json.loads(run("--json", "apples and pears @chunks:2").stdout)["conversation_id"]
    run("-c", "more fruit @chunks:2")
    run("a different topic @chunks:2")

    listed = run("logs")
    assert listed.code == 0, listed.stderr
    assert listed.stdout.count("## Prompt") == 3
    assert listed.stdout.index("apples") < listed.stdout.index("different topic")

    assert run("logs", "-n", "1").stdout.count("## Prompt") == 1
    found = run("logs", "-q", "APPLES")
    assert found.stdout.count("## Prompt") == 1
    assert "apples and pears" in found.stdout
    assert run("logs", "-q", "kiwi").stderr == "Nothing matches.\n"

    rows = json.loads(run("logs", "--json", "--cid", first[:6]).stdout)
    assert [row["prompt"] for row in rows] == ["apples and pears @chunks:2", "more fruit @chunks:2"]
    assert {row["status"] for row in rows} == {"complete"}
    assert set(rows[0]) >= {
        "conversation_id",
        "prompt",
        "system",
        "response",
        "reasoning",
        "model",
        "started",
        "finished",
        "input_tokens",
        "output_tokens",
        "finish_reason",
        "error",
    }
    assert invoke("logs", "--cid", "nope").exit_code == 3


def test_off_on_path_status(invoke: Invoke, home: Path) -> None:
    assert invoke("logs").stderr == "No exchanges logged yet.\n"
    assert invoke("logs", "path").stdout == f"{home / LOG_FILE}\n"
    assert invoke("logs", "off").stdout == "Logging is off.\n"
    assert "off" in invoke("logs", "status").stdout
    invoke("not logged @chunks:2")
    assert "The log is off" in invoke("logs").stderr
    assert invoke("logs", "on").stdout == "Logging is on.\n"
    invoke("logged @chunks:2")
    assert invoke("logs", "status").stdout == f"Logging is on: {home / LOG_FILE} (1 exchange).\n"


def test_show_and_export_one_conversation(run: Run, invoke: Invoke) -> None:
    first = json.loads(run("--json", "-s", "be terse", "apples @chunks:2").stdout)
    run("--cid", first["conversation_id"][:8], "pears @chunks:2")
    run("chat", "--cid", first["conversation_id"][:8], input="plums @chunks:2\n")
    cid = first["conversation_id"]
    shown = invoke("logs", "show", cid[:6])
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.count("## Prompt") == 3
    assert " in / " in shown.stdout  # usage per response
    exported = json.loads(invoke("logs", "export", cid[:6], "--format", "json").stdout)
    assert exported["id"] == cid
    prompts = [row["prompt"] for row in exported["exchanges"]]
    assert prompts == ["apples @chunks:2", "pears @chunks:2", "plums @chunks:2"]
    assert all(row["output_tokens"] > 0 for row in exported["exchanges"])
    md = invoke("logs", "export", cid[:6]).stdout
    assert md.startswith(f"# Conversation {cid}\n")
    assert md.count("## User") == 3 and md.count("## Assistant (openai-gpt-4o-mini, ") == 3
    assert md.count("## System") == 1 and "be terse" in md
    assert first["text"] in md
    missing = invoke("logs", "show", "FFFFFFFF")
    assert missing.exit_code == 3
    assert "raycast-ai logs" in missing.stderr


def test_query_is_fts5_and_a_bad_one_says_how(run: Run, invoke: Invoke) -> None:
    run("tell me about monads @chunks:2")
    run("and functors @chunks:2")
    found = invoke("logs", "--json", "-n", "0", "-q", "monads OR functors")
    assert [row["prompt"] for row in json.loads(found.stdout)] == [
        "tell me about monads @chunks:2",
        "and functors @chunks:2",
    ]
    bad = invoke("logs", "-q", '"unbalanced')
    assert bad.exit_code == 3
    assert "FTS5 syntax" in bad.stderr
    assert "FTS5" in invoke("logs", "--help").stdout


def test_a_damaged_log_is_named_and_moved_aside_only_on_request(invoke: Invoke, home: Path) -> None:
    home.mkdir(parents=True)
    log = home / LOG_FILE
    log.write_bytes(b"garbage " * 512)
    asked = invoke("hello @chunks:2")
    assert asked.exit_code == 0  # the answer does not depend on the log
    assert f"warning: The conversation log {log} is damaged" in asked.stderr
    assert "raycast-ai logs repair" in asked.stderr
    listed = invoke("logs")
    assert listed.exit_code == 3
    assert str(log) in listed.stderr and "raycast-ai logs repair" in listed.stderr
    assert log.read_bytes() == b"garbage " * 512  # nothing overwritten
    repaired = invoke("logs", "repair")
    assert repaired.exit_code == 0, repaired.stderr
    [kept] = home.glob(f"{LOG_FILE}.corrupt-*")
    assert kept.read_bytes() == b"garbage " * 512
    assert f"Moved it to {kept}" in repaired.stdout
    invoke("logged now @chunks:2")
    assert invoke("logs", "repair").stdout.startswith("The log is fine")
    assert "logged now" in invoke("logs").stdout


USES = {
    "credentials.json": (["hello"], ["auth", "set", "--token", "t"], ["auth", "status"]),
    "config.json": (["hello"], ["aliases", "set", "quick", "openai-gpt-4o"], ["models"]),
}


@pytest.mark.parametrize("name", list(USES))
def test_a_damaged_settings_file_is_named_with_its_line_and_kept(
    invoke: Invoke, home: Path, name: str
) -> None:
    home.mkdir(parents=True)
    path = home / name
    text = '{\n  "default_model": "openai-gpt-4o",\n  "aliases": {"fast": }\n}\n'
    path.write_text(text)
    for args in USES[name]:
        result = invoke(*args)
        assert result.exit_code == 3, (args, result.stdout, result.stderr)
        assert f"Error: {path} is not valid JSON (line 3, column" in result.stderr, args
        assert f"mv '{path}' '{path}.bak'" in result.stderr
        assert path.read_text() == text  # not overwritten
