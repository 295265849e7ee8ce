"""Structured output over the gateway and the emulator, with real clients: the openai SDK's
`chat.completions.parse` / `.stream` and `responses.parse` / `.stream` with pydantic models,
pydantic-ai, the repair round trip, and `invalid_structured_output` in each shape, before and
after the 200."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from pydantic_ai import Agent, NativeOutput
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from chaos import Gateway
from raycast_ai.emulator.instances import instance
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.structured import SCHEMA_MARK
from support_emulator import chat_requests, new_nonce
from support_structured import Kind, Trip, forced_tool

pytestmark = pytest.mark.anyio

TOOLS_MODEL = "openai-gpt-4o-mini"
NO_TOOLS_MODEL = "perplexity-sonar-pro"
REASONING_MODEL = "openai_o1-o3"  # streams reasoning first: the 200 goes out before the JSON
TRIP_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "Trip", "schema": Trip.model_json_schema(), "strict": True},
}


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def sse_data(body: str) -> list[Any]:
    return [
        json.loads(line[6:]) if line[6:] != "[DONE]" else "[DONE]"
        for line in body.splitlines()
        if line.startswith("data: ")
    ]


async def test_chat_parse_gives_the_pydantic_object(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    completion = await client.chat.completions.parse(
        model=TOOLS_MODEL, messages=ask(f"plan a trip {nonce}"), response_format=Trip
    )
    message = completion.choices[0].message
    assert isinstance(message.parsed, Trip)
    assert message.parsed.stops[0].kind is Kind.city
    assert message.tool_calls is None
    assert completion.choices[0].finish_reason == "stop"
    (sent,) = chat_requests(emulator, nonce)
    # The schema reached Raycast as the forced tool's parameters (the SDK made it strict),
    # and the answer is the emulator's instance of it.
    schema = forced_tool(sent)["parameters"]
    assert schema["additionalProperties"] is False
    assert json.loads(message.content or "") == instance(schema)


def test_chat_parse_with_the_sync_client(sync_openai: openai.OpenAI) -> None:
    completion = sync_openai.chat.completions.parse(
        model=NO_TOOLS_MODEL, messages=ask("plan a trip"), response_format=Trip
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Trip)
    assert parsed == Trip.model_validate_json(completion.choices[0].message.content or "")


async def test_chat_stream_delivers_the_json_as_content_deltas(
    client: openai.AsyncOpenAI,
) -> None:
    async with client.chat.completions.stream(
        model=TOOLS_MODEL,
        messages=ask("plan a trip"),
        response_format=Trip,
        stream_options={"include_usage": True},
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_completion()
    assert "content.delta" in kinds and "content.done" in kinds
    assert final.choices[0].finish_reason == "stop"
    assert isinstance(final.choices[0].message.parsed, Trip)
    assert final.usage is not None


def test_chat_stream_with_the_sync_client(sync_openai: openai.OpenAI) -> None:
    with sync_openai.chat.completions.stream(
        model=REASONING_MODEL, messages=ask("plan a trip"), response_format=Trip
    ) as stream:
        final = stream.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, Trip)


async def test_chat_json_object_gives_an_object(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model=TOOLS_MODEL, messages=ask("any JSON"), response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


async def test_responses_parse_gives_the_pydantic_object(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    response = await client.responses.parse(
        model=TOOLS_MODEL, input=f"plan a trip {nonce}", text_format=Trip, store=False
    )
    assert isinstance(response.output_parsed, Trip)
    assert response.status == "completed"
    assert forced_tool(chat_requests(emulator, nonce)[0])["name"] == "Trip"


async def test_responses_stream_with_a_text_format(client: openai.AsyncOpenAI) -> None:
    async with client.responses.stream(
        model=NO_TOOLS_MODEL, input="plan a trip", text_format=Trip, store=False
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.output_text.delta" in kinds
    assert kinds[-1] == "response.completed"
    assert isinstance(final.output_parsed, Trip)


async def test_pydantic_ai_native_output_over_the_gateway(
    gateway: Gateway, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    async with openai.AsyncOpenAI(
        base_url=gateway.base_url + "/v1", api_key="unused", max_retries=0
    ) as sdk:
        provider = OpenAIProvider(openai_client=sdk)
        model = OpenAIChatModel(TOOLS_MODEL, provider=provider)
        agent = Agent(model, output_type=NativeOutput(Trip))
        result = await agent.run(f"plan a trip {nonce}")
    assert isinstance(result.output, Trip)
    assert result.output.stops[0].kind is Kind.city
    # pydantic-ai asked through response_format, which became the forced tool upstream.
    assert forced_tool(chat_requests(emulator, nonce)[0])["name"] == "Trip"


@pytest.mark.parametrize("model", [TOOLS_MODEL, NO_TOOLS_MODEL])
async def test_the_repair_round_trip_makes_a_second_upstream_request(
    client: openai.AsyncOpenAI, emulator: EmulatorServer, model: str
) -> None:
    nonce = new_nonce()
    completion = await client.chat.completions.parse(
        model=model, messages=ask(f"plan a trip @json:invalid-once {nonce}"), response_format=Trip
    )
    assert isinstance(completion.choices[0].message.parsed, Trip)
    first, repair = chat_requests(emulator, nonce)
    assert "'title' is a required property" in repair.json()["messages"][-1]["content"]["text"]
    if model == NO_TOOLS_MODEL:
        assert SCHEMA_MARK in first.json()["additional_system_instructions"]


async def test_still_invalid_is_a_502_in_openai_shape(http: httpx2.AsyncClient) -> None:
    response = await http.post(
        "/v1/chat/completions",
        json={
            "model": TOOLS_MODEL,
            "messages": ask("plan a trip @json:invalid"),
            "response_format": TRIP_FORMAT,
        },
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "invalid_structured_output"
    assert error["type"] == "upstream_error"
    assert "'title' is a required property" in error["message"]


async def test_still_invalid_raises_in_the_sdk(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        await client.responses.parse(
            model=NO_TOOLS_MODEL, input="plan a trip @json:invalid", text_format=Trip
        )
    assert raised.value.status_code == 502
    assert raised.value.code == "invalid_structured_output"


async def test_still_invalid_is_a_502_in_responses_shape(http: httpx2.AsyncClient) -> None:
    text = {"format": {"type": "json_schema", **TRIP_FORMAT["json_schema"]}}  # type: ignore[dict-item]
    response = await http.post(
        "/v1/responses", json={"model": TOOLS_MODEL, "input": "go @json:invalid", "text": text}
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "invalid_structured_output"
    assert "'title' is a required property" in error["message"]


async def test_after_the_200_a_chat_stream_ends_with_the_in_stream_error(
    http: httpx2.AsyncClient,
) -> None:
    response = await http.post(
        "/v1/chat/completions",
        json={
            "model": REASONING_MODEL,
            "stream": True,
            "messages": ask("plan a trip @json:invalid"),
            "response_format": TRIP_FORMAT,
        },
    )
    assert response.status_code == 200
    frames = sse_data(response.text)
    assert frames[0]["choices"][0]["delta"]["role"] == "assistant"
    deltas = [f["choices"][0]["delta"] for f in frames if isinstance(f, dict) and "choices" in f]
    assert any(d.get("reasoning_content") for d in deltas)
    assert not any(d.get("content") for d in deltas)  # no JSON that does not parse
    assert frames[-2]["error"]["code"] == "invalid_structured_output"
    assert frames[-1] == "[DONE]"


async def test_after_the_200_a_responses_stream_ends_failed(http: httpx2.AsyncClient) -> None:
    text = {"format": {"type": "json_schema", **TRIP_FORMAT["json_schema"]}}  # type: ignore[dict-item]
    response = await http.post(
        "/v1/responses",
        json={"model": REASONING_MODEL, "stream": True, "input": "go @json:invalid", "text": text},
    )
    assert response.status_code == 200
    events = [f for f in sse_data(response.text) if isinstance(f, dict)]
    assert not any(e["type"] == "response.output_text.delta" for e in events)
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "invalid_structured_output"


async def test_a_schema_that_is_not_json_schema_is_a_400(http: httpx2.AsyncClient) -> None:
    format = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 3}}}
    response = await http.post(
        "/v1/chat/completions",
        json={"model": TOOLS_MODEL, "messages": ask("x"), "response_format": format},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "response_format.json_schema.schema"
