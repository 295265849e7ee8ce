from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from raycast_ai.emulator.config import EmulatorConfig
from raycast_ai.emulator.script import (
    Script,
    ScriptedAnswer,
    ScriptedCall,
    ScriptError,
    pieces,
)
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.request import CHAT_PATH, ChatOptions

from .support import chunks, signed, texts

SHELL = {"command": "echo $((40+2)) > made.txt && cat made.txt"}
SCRIPT = {
    "rules": [
        {
            "tool": "^(Bash|exec_command)$",
            "prompt": "make the file",
            "arguments": SHELL,
            "answer": "Made it; the shell said {output}",
        }
    ]
}


def tool(name: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"command": {"type": "string"}}}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


def raycast_tool(name: str) -> dict[str, Any]:
    return {"name": name, "parameters": {"type": "object"}}


def user(text: str) -> dict[str, Any]:
    return {"author": "user", "content": {"text": text}}


def called(name: str, call: str = "toolu_1") -> dict[str, Any]:
    function = {"name": name, "arguments": SHELL}
    return {
        "author": "assistant",
        "content": {"text": ""},
        "tool_calls": [{"id": call, "type": "function", "function": function}],
    }


def result(output: str, call: str = "toolu_1", name: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"author": "tool", "tool_call_id": call, "content": {"text": output}}
    if name is not None:
        message["name"] = name
    return message


def test_a_matching_tool_is_called_with_the_scripts_arguments() -> None:
    script = Script.from_json(SCRIPT)
    tools = [raycast_tool("Read"), raycast_tool("exec_command"), raycast_tool("Bash")]
    step = script.step(tools, [user("please make the file")], "please make the file")
    assert step == ScriptedCall("exec_command", SHELL)


@pytest.mark.parametrize(
    ("tools", "prompt"),
    [
        ([raycast_tool("Read")], "make the file"),  # no tool matches
        ([raycast_tool("Bash")], "just a question"),  # the prompt does not match
        ([], "make the file"),
    ],
)
def test_other_requests_answer_as_usual(tools: list[dict[str, Any]], prompt: str) -> None:
    assert Script.from_json(SCRIPT).step(tools, [user(prompt)], prompt) is None


def test_the_answer_carries_the_tool_result() -> None:
    script = Script.from_json(SCRIPT)
    messages = [user("make the file"), called("Bash"), result("42\n")]
    step = script.step([raycast_tool("Bash")], messages, "make the file")
    assert step == ScriptedAnswer("Made it; the shell said 42\n")


def test_a_result_followed_by_a_user_message_still_counts() -> None:
    """Claude Code puts reminders next to a tool result, which can become a user message."""
    script = Script.from_json(SCRIPT)
    messages = [user("make the file"), called("Bash"), result("42"), user("<reminder/>")]
    step = script.step([raycast_tool("Bash")], messages, "<reminder/>")
    assert step == ScriptedAnswer("Made it; the shell said 42")


def test_the_result_is_found_by_name_without_a_call() -> None:
    messages = [user("make the file"), result("42", call="other", name="Bash")]
    step = Script.from_json(SCRIPT).step([], messages, "make the file")
    assert step == ScriptedAnswer("Made it; the shell said 42")


def test_an_unscripted_tool_result_is_answered_as_usual() -> None:
    messages = [user("make the file"), called("Read"), result("text")]
    assert Script.from_json(SCRIPT).step([raycast_tool("Bash")], messages, "x") is None


def test_after_the_answer_a_new_prompt_starts_over() -> None:
    messages = [
        user("make the file"),
        called("Bash"),
        result("42"),
        {"author": "assistant", "content": {"text": "Made it"}},
        user("make the file again"),
    ]
    step = Script.from_json(SCRIPT).step([raycast_tool("Bash")], messages, "make the file again")
    assert step == ScriptedCall("Bash", SHELL)


def test_the_first_matching_rule_wins() -> None:
    script = Script.from_json(
        [
            {"tool": "^Bash$", "arguments": {"command": "a"}},
            {"tool": "^exec_command$", "arguments": {"cmd": "b"}},
        ]
    )
    tools = [raycast_tool("exec_command")]
    assert script.step(tools, [user("x")], "x") == ScriptedCall("exec_command", {"cmd": "b"})
    tools.append(raycast_tool("Bash"))
    assert script.step(tools, [user("x")], "x") == ScriptedCall("Bash", {"command": "a"})


def test_load_reads_a_file_or_json_text(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT), encoding="utf-8")
    assert Script.load(path) == Script.load(json.dumps(SCRIPT)) == Script.from_json(SCRIPT)
    one = Script.load('{"tool": "^Bash$"}')
    assert one.rules[0].answer == "The tool returned: {output}"
    assert one.rules[0].arguments == {}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("[]", "at least one rule"),
        ("{", "not valid JSON"),
        ('{"rules": [3]}', "Rule 1 of the emulator script is not an object"),
        ('{"tool": ""}', "'tool' must be a regular expression"),
        ('{"tool": "("}', "'tool' is not a regular expression"),
        ('{"tool": "x", "prompt": 1}', "'prompt' must be a regular expression"),
        ('{"tool": "x", "arguments": []}', "'arguments' must be an object"),
        ('{"tool": "x", "answer": 1}', "'answer' must be a string"),
        ('{"tool": "x", "args": {}}', "unknown fields: args"),
        ("no-such-file.json", "Cannot read the emulator script no-such-file.json"),
    ],
)
def test_a_wrong_script_says_what_is_wrong(data: str, words: str) -> None:
    with pytest.raises(ScriptError, match=words):
        Script.load(data)


@pytest.mark.parametrize("n", [0, 1, 3, 12, 100])
def test_pieces_join_to_the_text(n: int) -> None:
    text = "Made it; the shell said 42"
    parts = pieces(text, n)
    assert "".join(parts) == text
    assert 1 <= len(parts) <= max(1, n)
    assert pieces("", n) == [""]


@pytest.fixture(scope="module")
def scripted() -> Iterator[httpx2.Client]:
    with (
        EmulatorServer(script=Script.from_json(SCRIPT)) as server,
        httpx2.Client(base_url=server.base_url, timeout=5.0, trust_env=False) as client,
    ):
        yield client


def post(client: httpx2.Client, messages: list[dict[str, Any]], model: str) -> list[Any]:
    options = ChatOptions(tools=[tool("Read"), tool("Bash")])
    request, headers = signed(messages, model, options=options)
    response = client.post(CHAT_PATH, content=request.body, headers=headers)
    assert response.status_code == 200
    return chunks(response.content)


def test_over_the_wire_a_call_then_an_answer_with_its_output(scripted: httpx2.Client) -> None:
    model = "anthropic-claude-sonnet-4"
    messages: list[dict[str, Any]] = [{"role": "user", "content": "make the file"}]
    start, *fragments, summary = post(scripted, messages, model)[2:]
    (call,) = start["tool_calls"]
    assert call["function"]["name"] == "Bash"
    assert call["id"].startswith("toolu_")
    arguments = "".join(f["tool_calls"][0]["function"]["arguments"] for f in fragments)
    assert json.loads(arguments) == SHELL
    assert summary["finish_reason"] == "tool_calls"
    assert summary["tool_calls"][0]["function"] == {"name": "Bash", "arguments": arguments}

    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": call["function"] | {"arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "42\n"},
    ]
    answer = post(scripted, messages, model)
    assert texts(answer) == "Made it; the shell said 42\n"
    assert answer[-1]["finish_reason"] == "stop"


def test_over_the_wire_gemini_calls_with_a_flat_summary(scripted: httpx2.Client) -> None:
    parsed = post(
        scripted, [{"role": "user", "content": "make the file"}], "google-gemini-3.5-flash"
    )
    (call,) = parsed[-1]["tool_calls"]
    assert call["name"] == "Bash"
    assert json.loads(call["arguments"]) == SHELL


def test_over_the_wire_an_unscripted_prompt_gets_the_usual_answer(
    scripted: httpx2.Client,
) -> None:
    model = "openai-gpt-4o-mini"
    parsed = post(scripted, [{"role": "user", "content": "what is a monad?"}], model)
    n = EmulatorConfig().chunks
    assert texts(parsed) == "".join(answer_chunks("what is a monad?", model, n))


def test_server_takes_a_script_or_an_app_not_both() -> None:
    from raycast_ai.emulator.app import create_app

    with pytest.raises(ValueError, match="not both"):
        EmulatorServer(app=create_app(), script=Script.from_json(SCRIPT))


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--script", "no-such-file.json"], {}, "Cannot read the emulator script"),
        ([], {"RAYCAST_AI_EMULATOR_SCRIPT": "[]"}, "at least one rule"),
    ],
)
def test_emulate_names_a_wrong_script(args: list[str], env: dict[str, str], words: str) -> None:
    from click.testing import CliRunner

    from raycast_ai.cli.app import cli

    result = CliRunner().invoke(cli, ["emulate", "--port", "0", *args], env=env)
    assert result.exit_code == 2
    assert "--script" in result.stderr
    assert words in result.stderr
