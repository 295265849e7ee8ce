"""`raycast-ai logs`: listing, searching, one conversation, JSON, off/on/path/status."""

from __future__ import annotations

import json
from pathlib import Path

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
