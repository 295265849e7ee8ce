"""Structured output through the library (`complete(..., schema=...)`, `stream(..., schema=...)`)
against the emulator, on both clients: a forced tool where the model takes tools, an instruction
where it does not, one repair round trip, and the typed error when the repair fails too."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from raycast_ai import (
    ReasoningDelta,
    StructuredOutputError,
    TextDelta,
    UpstreamError,
)
from raycast_ai.emulator.instances import instance
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.structured import SCHEMA_MARK
from support_emulator import MakeHarness, chat_requests, new_nonce, user
from support_structured import Kind, Trip, forced_tool

pytestmark = pytest.mark.anyio

TOOLS_MODEL = "openai-gpt-4o-mini"
NO_TOOLS_MODEL = "perplexity-sonar-pro"  # its catalog entry: tools not supported
REASONING_MODEL = "openai_o1-o3"


async def test_a_pydantic_schema_is_a_forced_tool_and_comes_back_parsed(
    make: MakeHarness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    answer = await make().complete(user(f"plan a trip {nonce}"), TOOLS_MODEL, schema=Trip)
    assert isinstance(answer.parsed, Trip)
    assert answer.parsed.stops[0].kind is Kind.city
    assert answer.tool_calls == ()
    assert answer.finish_reason == "stop"
    (sent,) = chat_requests(emulator, nonce)
    tool = forced_tool(sent)
    assert tool["name"] == "Trip"
    assert tool["parameters"] == Trip.model_json_schema()
    # The text is the emulator's instance of exactly that schema, as JSON.
    assert json.loads(answer.text) == instance(Trip.model_json_schema())
    assert answer.parsed == Trip.model_validate_json(answer.text)


async def test_a_model_without_tools_is_told_the_schema_and_its_fenced_json_is_found(
    make: MakeHarness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    answer = await make().complete(user(f"plan a trip {nonce}"), NO_TOOLS_MODEL, schema=Trip)
    assert isinstance(answer.parsed, Trip)
    assert not answer.text.startswith("Here")  # the JSON alone, out of the fenced block
    (sent,) = chat_requests(emulator, nonce)
    body = sent.json()
    assert body["tools"] == []
    assert SCHEMA_MARK in body["additional_system_instructions"]
    assert (
        json.dumps(Trip.model_json_schema(), sort_keys=True)
        in (body["additional_system_instructions"])
    )


class Tree(BaseModel):
    label: str
    children: list[Tree]
    parent: Tree | None


async def test_a_recursive_model_comes_back_parsed(
    make: MakeHarness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    answer = await make().complete(user(f"a tree {nonce}"), TOOLS_MODEL, schema=Tree)
    assert isinstance(answer.parsed, Tree)
    assert isinstance(answer.parsed.children[0], Tree)
    assert forced_tool(chat_requests(emulator, nonce)[0])["parameters"]["type"] == "object"


async def test_a_dict_schema_gives_the_json_value(make: MakeHarness) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 2}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    answer = await make().complete(user("where?"), TOOLS_MODEL, schema=schema)
    assert answer.parsed == {"city": "Paris", "days": 2}
    assert json.loads(answer.text) == answer.parsed


@pytest.mark.parametrize("model", [TOOLS_MODEL, NO_TOOLS_MODEL])
async def test_one_invalid_answer_is_repaired_in_a_second_request(
    make: MakeHarness, emulator: EmulatorServer, model: str
) -> None:
    nonce = new_nonce()
    answer = await make().complete(
        user(f"plan a trip @json:invalid-once {nonce}"), model, schema=Trip
    )
    assert isinstance(answer.parsed, Trip)
    first, repair = chat_requests(emulator, nonce)
    sent = repair.json()["messages"]
    assert len(sent) == len(first.json()["messages"]) + 2
    # The invalid answer went back with what was wrong with it.
    assert "'title' is a required property" in sent[-1]["content"]["text"]
    assert sent[-1]["author"] == ("tool" if model == TOOLS_MODEL else "user")


@pytest.mark.parametrize("model", [TOOLS_MODEL, NO_TOOLS_MODEL])
async def test_an_answer_still_invalid_after_the_repair_raises_the_typed_error(
    make: MakeHarness, emulator: EmulatorServer, model: str
) -> None:
    nonce = new_nonce()
    with pytest.raises(StructuredOutputError) as raised:
        await make().complete(user(f"plan a trip @json:invalid {nonce}"), model, schema=Trip)
    error = raised.value
    assert isinstance(error, UpstreamError)
    assert error.type == "invalid_structured_output"
    assert error.problem == "at $: 'title' is a required property"
    assert error.problem in error.message
    assert "title" not in json.loads(error.output)
    assert len(chat_requests(emulator, nonce)) == 2


async def test_a_structured_stream_passes_reasoning_on_and_gives_the_json_once_valid(
    make: MakeHarness,
) -> None:
    attempt = await make().attempt(user("plan a trip"), REASONING_MODEL, schema=Trip)
    assert attempt.error is None
    kinds = [type(e) for e in attempt.events]
    assert ReasoningDelta in kinds
    (text,) = [e for e in attempt.events if isinstance(e, TextDelta)]
    assert kinds.index(ReasoningDelta) < kinds.index(TextDelta)
    Trip.model_validate_json(text.text)


async def test_an_invalid_schema_is_refused_before_any_request(
    make: MakeHarness, emulator: EmulatorServer
) -> None:
    from raycast_ai import InvalidRequestError

    nonce = new_nonce()
    with pytest.raises(InvalidRequestError, match="not a valid JSON Schema"):
        await make().complete(user(nonce), TOOLS_MODEL, schema={"type": "nope"})
    assert chat_requests(emulator, nonce) == []
