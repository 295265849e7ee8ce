"""`raycast-ai roles` and `--role` on ask and chat: saved system prompts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke

REVIEWER = "You review Python code. Be blunt and brief."


def test_roles_are_set_listed_shown_and_removed(invoke: Invoke, home: Path) -> None:
    assert invoke("roles", "set", "reviewer", REVIEWER).stdout == "Saved the role reviewer.\n"
    piped = invoke("roles", "set", "pirate", input="Answer like a pirate.\n\nArr.\n")
    assert piped.exit_code == 0, piped.stderr
    assert stat.S_IMODE((home / "roles.json").stat().st_mode) == 0o600

    listed = invoke("roles", "list")
    assert listed.stdout == (
        "pirate    Answer like a pirate. Arr.\n"
        "reviewer  You review Python code. Be blunt and brief.\n"
    )
    assert json.loads(invoke("roles", "list", "--json").stdout) == {
        "pirate": "Answer like a pirate.\n\nArr.",
        "reviewer": REVIEWER,
    }
    assert invoke("roles", "show", "pirate").stdout == "Answer like a pirate.\n\nArr.\n"

    replaced = invoke("roles", "set", "pirate", "Talk like a sailor.")
    assert replaced.stdout == "Replaced the role pirate.\n"
    assert invoke("roles", "remove", "pirate").stdout == "Removed the role pirate.\n"
    assert json.loads(invoke("roles", "list", "--json").stdout) == {"reviewer": REVIEWER}


def test_a_role_is_the_system_prompt_of_ask_and_chat(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    invoke("roles", "set", "reviewer", REVIEWER)
    asked = invoke("--role", "reviewer", "is this fine? @chunks:2")
    assert asked.exit_code == 0, asked.stderr
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["additional_system_instructions"] == REVIEWER

    chatted = invoke("chat", "--role", "reviewer", input="first @chunks:2\n")
    assert chatted.exit_code == 0, chatted.stderr
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["additional_system_instructions"] == REVIEWER
    assert body["messages"][-1]["content"]["text"] == "first @chunks:2"


def test_an_unknown_role_lists_the_roles_before_any_request(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder.for_path(CHAT_PATH))
    none = invoke("--role", "critic", "hi")
    assert none.exit_code == 3
    assert none.stderr == (
        "Error: There is no role 'critic'. The roles: none yet ('raycast-ai roles set NAME "
        "TEXT').\n"
    )
    invoke("roles", "set", "reviewer", REVIEWER)
    invoke("roles", "set", "editor", "Fix grammar.")
    some = invoke("chat", "--role", "critic", input="hi\n")
    assert some.exit_code == 3
    assert some.stderr == "Error: There is no role 'critic'. The roles: editor, reviewer.\n"
    removed = invoke("roles", "remove", "critic")
    assert removed.exit_code == 3
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before


def test_role_and_system_together_are_a_usage_error(invoke: Invoke) -> None:
    invoke("roles", "set", "reviewer", REVIEWER)
    result = invoke("--role", "reviewer", "--system", "be nice", "hi")
    assert result.exit_code == 2
    assert "Use --role or --system, not both." in result.stderr


def test_a_role_needs_a_text(invoke: Invoke) -> None:
    result = invoke("roles", "set", "empty", input="")
    assert result.exit_code == 2
    assert 'raycast-ai roles set empty "TEXT", or pipe it in' in result.stderr


def test_a_damaged_roles_file_names_the_file_and_the_fix(invoke: Invoke, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "roles.json").write_text('{"a": 1}')
    result = invoke("--role", "a", "hi")
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: {home / 'roles.json'} is not a roles file")
    assert "raycast-ai roles set NAME TEXT" in result.stderr
