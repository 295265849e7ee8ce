"""`POST /v1/messages` end to end with the official `anthropic` client and the emulator as Raycast.

Most tests run twice: in-process (httpx2's ASGITransport, which the SDK's http_client takes) and
against a real uvicorn socket.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import pytest
from starlette.testclient import TestClient

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks, reasoning_chunks, tool_reply_chunks
from raycast_ai.emulator.tools import arguments_for
from raycast_ai.server import GatewaySettings, create_app

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
REASONING_MODEL = "openai_o1-o3"
CHAT_PATH = "/api/v1/ai/chat_completions"
WEATHER: Any = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def expected(prompt: str, n: int, model: str = MODEL) -> str:
    return "".join(answer_chunks(prompt, model, n))


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def sse(raw: str) -> list[tuple[str, Any]]:
    out = []
    for frame in raw.split("\n\n"):
        if frame:
            kind, data = frame.split("\n")
            out.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


@pytest.fixture
async def client(gateway_at: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official async client, talking to the gateway in-process or over a loopback socket."""
    async with anthropic.AsyncAnthropic(
        api_key="unused",
        base_url=gateway_at.base_url,
        http_client=gateway_at.http_client,
        max_retries=0,
    ) as sdk:
        yield sdk


@pytest.fixture
def sync_client(gateway: Any) -> Any:
    with anthropic.Anthropic(api_key="unused", base_url=gateway.base_url, max_retries=0) as c:
        yield c


async def test_a_plain_answer(client: anthropic.AsyncAnthropic) -> None:
    prompt = "Tell me something @chunks:5"
    message = await client.messages.create(model=MODEL, max_tokens=1024, messages=user(prompt))
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert text_of(message) == expected(prompt, 5)
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


async def test_a_streamed_answer_and_its_final_message(client: anthropic.AsyncAnthropic) -> None:
    prompt = "Stream it @chunks:6"
    async with client.messages.stream(
        model=MODEL, max_tokens=1024, system="be nice", messages=user(prompt)
    ) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == answer_chunks(prompt, MODEL, 6)
    assert text_of(final) == expected(prompt, 6)
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_the_sync_client(sync_client: anthropic.Anthropic) -> None:
    prompt = "sync please @chunks:4"
    message = sync_client.messages.create(model=MODEL, max_tokens=10, messages=user(prompt))
    assert text_of(message) == expected(prompt, 4)
    with sync_client.messages.stream(model=MODEL, max_tokens=10, messages=user(prompt)) as stream:
        assert "".join(stream.text_stream) == expected(prompt, 4)
        assert text_of(stream.get_final_message()) == expected(prompt, 4)
    beta = sync_client.beta.messages.create(model=MODEL, max_tokens=10, messages=user(prompt))
    assert text_of(beta) == expected(prompt, 4)


def test_the_sync_client_in_process(upstream_options: dict[str, Any]) -> None:
    settings = GatewaySettings(client_options=upstream_options)
    with TestClient(create_app(settings), base_url="http://gateway") as http:
        client = anthropic.Anthropic(
            api_key="unused", base_url="http://gateway", http_client=http, max_retries=0
        )
        prompt = "in process @chunks:4"
        message = client.messages.create(model=MODEL, max_tokens=10, messages=user(prompt))
        assert text_of(message) == expected(prompt, 4)
        with client.messages.stream(model=MODEL, max_tokens=10, messages=user(prompt)) as stream:
            assert text_of(stream.get_final_message()) == expected(prompt, 4)
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model=MODEL, max_tokens=10, messages=user("x @fault:429"))


async def test_the_raw_event_order_with_claude_codes_body_and_headers(
    gateway: Any, emulator: EmulatorServer
) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332;"},
            {
                "type": "text",
                "text": "You are Claude Code.",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "raw events @chunks:3"}]},
            {"role": "system", "content": [{"type": "text", "text": "# Environment"}]},
        ],
        "metadata": {"user_id": '{"device_id":"x"}'},
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }
    headers = {
        "anthropic-version": "2099-01-01",
        "anthropic-beta": "claude-code-20250219,not-a-real-beta-flag",
        "x-app": "cli",
        "accept": "application/json",
    }
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        response = await http.post("/v1/messages?beta=true", json=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse(response.text)
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    assert all(kind == data["type"] for kind, data in events)
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] > 0
    sent = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert sent["additional_system_instructions"] == "You are Claude Code.\n\n# Environment"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_tool_round_trip_keeps_the_ids(
    client: anthropic.AsyncAnthropic, emulator: EmulatorServer, stream: bool
) -> None:
    prompt = f"What is the weather in Paris? @tool @chunks:3 ({stream})"
    messages: list[Any] = user(prompt)
    if stream:
        async with client.messages.stream(
            model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER]
        ) as events:
            first = await events.get_final_message()
    else:
        first = await client.messages.create(
            model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER]
        )
    assert first.stop_reason == "tool_use"
    (call,) = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "get_weather"
    assert call.input == arguments_for(WEATHER["input_schema"])
    sent = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert sent["tools"][0]["function"]["parameters"]["required"] == ["city", "unit"]
    assert "$schema" not in sent["tools"][0]["function"]["parameters"]

    result = "18 degrees and sunny"
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": result}],
        },
    ]
    final = await client.messages.create(
        model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER]
    )
    assert final.stop_reason == "end_turn"
    assert text_of(final) == "".join(tool_reply_chunks("get_weather", result, MODEL, 3))
    upstream = emulator.recorder.for_path(CHAT_PATH)[-1].json()["messages"]
    assert upstream[-2]["tool_calls"][0]["id"] == call.id
    assert upstream[-1] == {
        "author": "tool",
        "content": {"text": result},
        "name": "get_weather",
        "tool_call_id": call.id,
    }


async def test_tool_choice_tool_forces_that_tool(
    client: anthropic.AsyncAnthropic, emulator: EmulatorServer
) -> None:
    other = {**WEATHER, "name": "other_tool"}
    message = await client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=user("pick one"),
        tools=[other, WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    assert [b.name for b in message.content if b.type == "tool_use"] == ["get_weather"]
    sent = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert sent["tool_choice"] == "required"
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_thinking_on_a_reasoning_model_is_a_thinking_block(
    client: anthropic.AsyncAnthropic, emulator: EmulatorServer, stream: bool
) -> None:
    prompt = f"think first @chunks:3 ({stream})"
    options: Any = {
        "model": REASONING_MODEL,
        "max_tokens": 4000,
        "messages": user(prompt),
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    if stream:
        async with client.messages.stream(**options) as events:
            message = await events.get_final_message()
    else:
        message = await client.messages.create(**options)
    thinking, text = message.content
    assert thinking.type == "thinking"
    assert thinking.thinking == "".join(reasoning_chunks(prompt, REASONING_MODEL))
    assert thinking.signature
    assert text.type == "text" and text.text == expected(prompt, 3, REASONING_MODEL)
    assert emulator.recorder.for_path(CHAT_PATH)[-1].json()["reasoning_effort"] == "low"


async def test_without_thinking_the_reasoning_is_not_shown(
    client: anthropic.AsyncAnthropic,
) -> None:
    prompt = "no thoughts shown @chunks:2"
    message = await client.messages.create(
        model=REASONING_MODEL, max_tokens=50, messages=user(prompt)
    )
    assert [b.type for b in message.content] == ["text"]


async def test_claude_codes_thinking_on_a_model_without_efforts(
    client: anthropic.AsyncAnthropic, emulator: EmulatorServer
) -> None:
    async with client.messages.stream(
        model="anthropic-claude-sonnet-4",
        max_tokens=32000,
        messages=user("hello @chunks:2"),
        thinking={"type": "enabled", "budget_tokens": 31999},
    ) as stream:
        message = await stream.get_final_message()
    assert text_of(message) == expected("hello @chunks:2", 2, "anthropic-claude-sonnet-4")
    assert "reasoning_effort" not in emulator.recorder.for_path(CHAT_PATH)[-1].json()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_stop_sequences_are_cut_by_the_gateway(
    client: anthropic.AsyncAnthropic, stream: bool
) -> None:
    prompt = "stop early @chunks:4"
    options: Any = {
        "model": MODEL,
        "max_tokens": 50,
        "messages": user(prompt),
        "stop_sequences": ["data:"],  # the emulator's first piece always holds it
    }
    if stream:
        async with client.messages.stream(**options) as events:
            message = await events.get_final_message()
    else:
        message = await client.messages.create(**options)
    assert text_of(message) == expected(prompt, 4).split("data:")[0]
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "data:")


async def test_a_reroute_names_the_model_that_answered(client: anthropic.AsyncAnthropic) -> None:
    prompt = "hi @fault:model_updated @chunks:4"
    raw = await client.messages.with_raw_response.create(
        model=MODEL, max_tokens=10, messages=user(prompt)
    )
    assert "rerouted to GPT-4o" in raw.headers["x-raycast-rerouted"]
    message = await raw.parse()
    assert message.model == "openai-gpt-4o"
    assert text_of(message) == expected(prompt, 4)
    async with client.messages.stream(model=MODEL, max_tokens=10, messages=user(prompt)) as s:
        streamed = await s.get_final_message()
    assert streamed.model == "openai-gpt-4o"


@pytest.mark.parametrize(
    ("prompt", "model", "error", "status", "kind", "message"),
    [
        ("@fault:401", MODEL, anthropic.AuthenticationError, 401, "authentication_error", ""),
        ("@fault:403", MODEL, anthropic.PermissionDeniedError, 403, "permission_error", ""),
        (
            "@fault:429 @retry-after:2",
            MODEL,
            anthropic.RateLimitError,
            429,
            "rate_limit_error",
            "Too many requests",
        ),
        ("hi", "no-such-model", anthropic.NotFoundError, 404, "not_found_error", "no-such-model"),
        ("@fault:500", MODEL, anthropic.InternalServerError, 502, "api_error", "Internal"),
        ("@fault:502", MODEL, anthropic.InternalServerError, 502, "api_error", ""),
        (
            "@fault:503",
            MODEL,
            anthropic.OverloadedError,
            529,
            "overloaded_error",
            "temporarily unavailable",
        ),
        (
            "@fault:context_error",
            MODEL,
            anthropic.BadRequestError,
            400,
            "invalid_request_error",
            "",
        ),
        ("@fault:credits_error", MODEL, anthropic.RateLimitError, 429, "rate_limit_error", ""),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_upstream_faults_before_the_first_token(
    client: anthropic.AsyncAnthropic,
    prompt: str,
    model: str,
    error: type[anthropic.APIStatusError],
    status: int,
    kind: str,
    message: str,
    stream: bool,
) -> None:
    with pytest.raises(error) as caught:
        await client.messages.create(
            model=model, max_tokens=10, messages=user(f"fail {prompt}"), stream=stream
        )
    assert caught.value.status_code == status
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == kind
    assert message in body["error"]["message"]
    if status == 429 and "retry-after" in prompt:
        assert caught.value.response.headers["retry-after"] == "2"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("reset-mid", "broke in the middle of the answer"),
        ("truncate", "ended before the answer was finished"),
    ],
)
async def test_a_fault_after_the_first_token_is_an_error_event(
    client: anthropic.AsyncAnthropic, fault: str, message: str
) -> None:
    prompt = f"hello @fault:{fault} @chunks:8"
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(model=MODEL, max_tokens=10, messages=user(prompt)) as s:
            async for text in s.text_stream:
                received.append(text)
    assert caught.value.status_code == 200  # the error came after the 200
    body: Any = caught.value.body
    assert body == {
        "type": "error",
        "error": {"type": "api_error", "message": body["error"]["message"]},
    }
    assert message in body["error"]["message"]
    assert "".join(received) and expected(prompt, 8).startswith("".join(received))

    with pytest.raises(anthropic.InternalServerError) as whole:
        await client.messages.create(model=MODEL, max_tokens=10, messages=user(prompt))
    assert whole.value.status_code == 502


async def test_refused_blocks_and_bad_bodies_are_anthropic_400s(
    client: anthropic.AsyncAnthropic,
) -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[{"role": "user", "content": [{"type": "text", "text": "see"}, image]}],
        )
    body: Any = caught.value.body
    assert body["error"]["type"] == "invalid_request_error"
    assert "does not fetch files from URLs (host example.com)" in body["error"]["message"]
    assert "base64 source" in body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as missing:
        await client.post("/v1/messages", body={"model": MODEL, "messages": []}, cast_to=object)
    assert "max_tokens" in missing.value.message or "messages" in missing.value.message


async def test_count_tokens_is_a_local_estimate(
    client: anthropic.AsyncAnthropic, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder.for_path(CHAT_PATH))
    short = await client.messages.count_tokens(model=MODEL, messages=user("hello there"))
    longer = await client.messages.count_tokens(
        model=MODEL, system="You are terse.", messages=user("hello there, and more words")
    )
    with_tools = await client.messages.count_tokens(
        model=MODEL, messages=user("hello there"), tools=[WEATHER]
    )
    beta = await client.beta.messages.count_tokens(model=MODEL, messages=user("hello there"))
    assert 0 < short.input_tokens < longer.input_tokens
    assert short.input_tokens < with_tools.input_tokens
    assert beta.input_tokens == short.input_tokens
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.count_tokens(model=MODEL, messages=[])
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_the_root_answers_claude_codes_probe(gateway: Any) -> None:
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        assert (await http.head("/")).status_code == 200
        assert (await http.get("/")).status_code == 200


async def test_unknown_paths_and_methods_under_messages_answer_in_anthropic_shape(
    gateway: Any,
) -> None:
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        missing = await http.post("/v1/messages/batches", json={})
        wrong = await http.get("/v1/messages")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "type": "not_found_error",
        "message": "Invalid URL (POST /v1/messages/batches)",
    }
    assert wrong.status_code == 405
    assert wrong.json()["type"] == "error"
    assert wrong.json()["error"]["type"] == "invalid_request_error"


def test_gateway_keys_as_x_api_key_or_bearer(keyed_gateway: Any) -> None:
    base = keyed_gateway.base_url
    with anthropic.Anthropic(api_key="sk-gateway-test", base_url=base, max_retries=0) as right:
        message = right.messages.create(model=MODEL, max_tokens=5, messages=user("key @chunks:2"))
        assert text_of(message) == expected("key @chunks:2", 2)
        assert right.messages.count_tokens(model=MODEL, messages=user("x")).input_tokens > 0
    with anthropic.Anthropic(auth_token="sk-gateway-test", base_url=base, max_retries=0) as token:
        assert token.messages.create(model=MODEL, max_tokens=5, messages=user("bearer")).content
    with anthropic.Anthropic(api_key="sk-wrong", base_url=base, max_retries=0) as wrong:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            wrong.messages.create(model=MODEL, max_tokens=5, messages=user("nope"))
        body: Any = caught.value.body
        assert body["type"] == "error"
        assert body["error"] == {"type": "authentication_error", "message": "Incorrect API key."}
        with pytest.raises(anthropic.AuthenticationError):
            wrong.messages.count_tokens(model=MODEL, messages=user("x"))
        assert caught.value.response.headers["x-should-retry"] == "false"  # one try, not 3 min
    with httpx2.Client(base_url=base) as http:
        for probe in ("/", "/api/hello"):  # Claude Code's probes need no key, spend nothing
            assert http.head(probe).status_code == 200
        assert http.get("/v1/models").status_code == 401
        too_big = http.post(
            "/v1/messages",
            headers={"x-api-key": "sk-gateway-test"},
            json={"model": MODEL, "max_tokens": 5, "messages": user("x" * 70_000)},
        )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["type"] == "request_too_large"


def test_a_client_disconnect_closes_the_upstream_request(
    patient_gateway: Any, emulator: EmulatorServer
) -> None:
    with anthropic.Anthropic(
        api_key="-", base_url=patient_gateway.base_url, max_retries=0
    ) as client:
        with client.messages.stream(  # 8 s of answer, unless cut short
            model=MODEL, max_tokens=10, messages=user("long one @chunks:400 @delay:0.02")
        ) as stream:
            texts = iter(stream.text_stream)
            next(texts)
            next(texts)
        record = emulator.recorder.wait_for_outcome("disconnected", timeout=2.0)
    assert record.path == CHAT_PATH


async def test_every_answer_carries_the_request_id_the_sdk_reads(
    client: anthropic.AsyncAnthropic,
) -> None:
    message = await client.messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    assert message._request_id is not None
    assert message._request_id.startswith("req_")
    with pytest.raises(anthropic.NotFoundError) as caught:
        await client.messages.create(model="no-such-model", max_tokens=10, messages=user("hi"))
    assert caught.value.request_id is not None
