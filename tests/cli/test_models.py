"""`raycast-ai models` and `raycast-ai aliases` against the emulator's catalog."""

from __future__ import annotations

import json
from pathlib import Path

from raycast_ai.config import CONFIG_FILE
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke


def test_the_table_marks_the_default_and_pro_models(invoke: Invoke) -> None:
    result = invoke("models")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "PROVIDER", "CONTEXT"]
    default = [line for line in lines if line.startswith("*")]
    assert len(default) == 1
    assert "openai-gpt-4o-mini" in default[0]
    assert "128k" in default[0]
    assert any("openai-gpt-4o " in line and line.endswith("pro") for line in lines)
    assert "deprecated" not in result.stdout
    assert "deprecated" in invoke("models", "--all").stdout


def test_json_lists_every_field(invoke: Invoke) -> None:
    rows = json.loads(invoke("models", "--json").stdout)
    mini = next(row for row in rows if row["id"] == "openai-gpt-4o-mini")
    assert mini == {
        "id": "openai-gpt-4o-mini",
        "name": "GPT-4o mini",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "provider_name": "OpenAI",
        "context": 128,
        "premium": False,
        "deprecated": False,
        "reasoning_efforts": [],
        "default": True,
    }


def test_the_stored_default_is_used_and_shown(
    invoke: Invoke, home: Path, emulator: EmulatorServer
) -> None:
    result = invoke("models", "default", "claude-sonnet-4-20250514")
    assert result.exit_code == 0, result.stderr
    assert json.loads((home / CONFIG_FILE).read_text()) == {
        "default_model": "anthropic-claude-sonnet-4"
    }
    assert invoke("models", "default").stdout == "anthropic-claude-sonnet-4 (Claude Sonnet 4)\n"
    starred = [line for line in invoke("models").stdout.splitlines() if line.startswith("*")]
    assert "anthropic-claude-sonnet-4" in starred[0]
    assert invoke("hi @chunks:2").exit_code == 0
    assert emulator.recorder.for_path(CHAT_PATH)[-1].json()["provider"] == "anthropic"
    assert invoke("models", "default", "nonsense").exit_code == 7


def test_aliases_set_list_use_remove(invoke: Invoke, emulator: EmulatorServer) -> None:
    assert invoke("aliases").stderr.startswith("No aliases yet")
    result = invoke("aliases", "set", "fast", "openai/gpt-oss-20b")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "fast -> groq-openai/gpt-oss-20b (GPT OSS 20B)\n"
    assert invoke("aliases", "list").stdout == "fast  groq-openai/gpt-oss-20b\n"
    assert json.loads(invoke("aliases", "list", "--json").stdout) == {
        "fast": "groq-openai/gpt-oss-20b"
    }
    answer = json.loads(invoke("-m", "fast", "--json", "hi @chunks:2").stdout)
    assert answer["model"] == "groq-openai/gpt-oss-20b"
    assert emulator.recorder.for_path(CHAT_PATH)[-1].json()["provider"] == "groq"
    assert invoke("aliases", "remove", "fast").exit_code == 0
    assert invoke("aliases", "remove", "fast").exit_code == 2
    assert invoke("-m", "fast", "hi").exit_code == 7
    assert invoke("aliases", "set", "x", "no-such-model").exit_code == 7
