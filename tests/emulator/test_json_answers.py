"""The emulator as a model asked for JSON: a forced tool is called on every turn with arguments
valid for its schema, an instruction to answer in JSON gets a fenced instance, and `@json:`
makes either invalid (always, or only before the repair)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from raycast_ai.emulator.instances import instance
from raycast_ai.protocol.request import CHAT_PATH, ChatOptions
from raycast_ai.protocol.structured import extract_json, instruction, output_schema

from .support import chunks, signed, texts

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 2}},
    "required": ["city", "days"],
}
PLAIN = ChatOptions()
FORCED = ChatOptions(
    tools=[{"type": "function", "function": {"name": "answer", "parameters": SCHEMA}}],
    tool_choice={"type": "function", "function": {"name": "answer"}},
)


def post(
    http: httpx2.Client,
    messages: list[dict[str, Any]],
    model: str = "openai-gpt-4o-mini",
    options: ChatOptions = PLAIN,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    request, signed_headers = signed(messages, model, options=options)
    return http.post(CHAT_PATH, content=request.body, headers=signed_headers | (headers or {}))


def arguments(response: httpx2.Response) -> Any:
    (call,) = chunks(response.content)[-1]["tool_calls"]
    return json.loads(call["function"]["arguments"])


def repaired(prompt: str) -> list[dict[str, Any]]:
    """A conversation after one forced call and its tool result."""
    call = {"id": "c1", "type": "function", "function": {"name": "answer", "arguments": "{}"}}
    return [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "not valid"},
    ]


def test_a_forced_tool_gets_valid_arguments_on_every_turn(http: httpx2.Client) -> None:
    assert arguments(post(http, [{"role": "user", "content": "go"}], options=FORCED)) == {
        "city": "Paris",
        "days": 2,
    }
    assert arguments(post(http, repaired("go"), options=FORCED)) == {"city": "Paris", "days": 2}


def test_json_invalid_once_spoils_only_the_first_turn(http: httpx2.Client) -> None:
    first = post(http, [{"role": "user", "content": "go @json:invalid-once"}], options=FORCED)
    assert arguments(first) == {"days": 2}
    assert arguments(post(http, repaired("go @json:invalid-once"), options=FORCED)) == {
        "city": "Paris",
        "days": 2,
    }
    assert arguments(post(http, repaired("go @json:invalid"), options=FORCED)) == {"days": 2}


def test_the_header_does_the_same(http: httpx2.Client) -> None:
    response = post(
        http,
        [{"role": "user", "content": "go"}],
        options=FORCED,
        headers={"X-Emulator-Json": "invalid"},
    )
    assert arguments(response) == {"days": 2}


@pytest.mark.parametrize(("word", "valid"), [("", True), ("@json:invalid", False)])
def test_an_instruction_gets_a_fenced_instance(http: httpx2.Client, word: str, valid: bool) -> None:
    messages = [
        {"role": "system", "content": instruction(output_schema(SCHEMA))},
        {"role": "user", "content": f"go {word}"},
    ]
    text = texts(chunks(post(http, messages, "perplexity-sonar-pro").content))
    assert "```json\n" in text
    found = extract_json(text)
    assert found is not None
    assert (found.value == instance(SCHEMA)) is valid


def test_an_unknown_json_directive_is_a_400(http: httpx2.Client) -> None:
    response = post(http, [{"role": "user", "content": "go @json:sometimes"}])
    assert response.status_code == 400
    assert "@json takes invalid or invalid-once" in response.text
