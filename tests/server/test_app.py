"""The gateway end to end with the official `openai` client and the emulator as Raycast.

Most tests run twice: in-process (httpx2's ASGITransport) and against a real uvicorn socket.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from starlette.testclient import TestClient

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import (
    answer_chunks,
    count_tokens,
    reasoning_chunks,
    tool_reply_chunks,
)
from raycast_ai.emulator.tools import arguments_for
from raycast_ai.server import GatewaySettings, create_app

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
REASONING_MODEL = "openai_o1-o3"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


async def drain(stream: Any, into: list[str]) -> None:
    async for chunk in stream:
        into.append(chunk.choices[0].delta.content or "")


def expected(prompt: str, n: int, model: str = MODEL) -> str:
    return "".join(answer_chunks(prompt, model, n))


async def test_non_streamed_answer(client: openai.AsyncOpenAI) -> None:
    prompt = "Say something @chunks:7"
    done = await client.chat.completions.create(model=MODEL, messages=user(prompt))
    assert done.object == "chat.completion"
    assert done.id.startswith("chatcmpl-")
    assert done.model == MODEL
    choice = done.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == expected(prompt, 7)
    assert choice.finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.prompt_tokens == count_tokens(prompt)
    assert done.usage.completion_tokens == count_tokens(expected(prompt, 7))
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens


async def test_streamed_answer_with_usage(client: openai.AsyncOpenAI) -> None:
    prompt = "Stream it @chunks:9"
    stream = await client.chat.completions.create(
        model=MODEL, messages=user(prompt), stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert len({c.id for c in chunks}) == 1
    assert len({c.created for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content
    ]
    assert pieces == answer_chunks(prompt, MODEL, 9)
    finish = chunks[-2]
    assert finish.choices[0].finish_reason == "stop"
    assert finish.choices[0].delta.content is None
    usage = chunks[-1]
    assert usage.choices == []
    assert usage.usage is not None
    assert usage.usage.prompt_tokens == count_tokens(prompt)
    assert usage.usage.completion_tokens == count_tokens("".join(pieces))
    assert all(c.usage is None for c in chunks[:-1])


async def test_stream_without_include_usage_has_no_usage_chunk(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model=MODEL, messages=user("short @chunks:2"), stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices for c in chunks)


async def test_reasoning_streams_as_reasoning_content(client: openai.AsyncOpenAI) -> None:
    prompt = "Think first @chunks:3"
    stream = await client.chat.completions.create(
        model=REASONING_MODEL, messages=user(prompt), stream=True, reasoning_effort="low"
    )
    reasoning, content = [], []
    async for chunk in stream:
        delta = chunk.choices[0].delta
        if getattr(delta, "reasoning_content", None):
            reasoning.append(delta.reasoning_content)  # type: ignore[attr-defined]
        if delta.content:
            content.append(delta.content)
    assert "".join(reasoning) == "".join(reasoning_chunks(prompt, REASONING_MODEL, 3))
    assert "".join(content) == expected(prompt, 3, REASONING_MODEL)


async def test_reasoning_in_the_non_streamed_message(aopenai: openai.AsyncOpenAI) -> None:
    prompt = "Think @chunks:2"
    done = await aopenai.chat.completions.create(model=REASONING_MODEL, messages=user(prompt))
    message = done.choices[0].message
    assert message.reasoning_content == "".join(reasoning_chunks(prompt, REASONING_MODEL, 3))  # type: ignore[attr-defined]
    assert message.content == expected(prompt, 2, REASONING_MODEL)


async def test_reasoning_effort_reaches_raycast(
    aopenai: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    model = "anthropic-claude-opus-4-8"  # thinks unless the effort is "none"
    await aopenai.chat.completions.create(
        model=model, messages=user("a @chunks:1"), extra_body={"reasoning": {"effort": "high"}}
    )
    assert (
        emulator.recorder.for_path("/api/v1/ai/chat_completions")[-1].json()["reasoning_effort"]
        == "high"
    )
    done = await aopenai.chat.completions.create(
        model=model, messages=user("b @chunks:1"), reasoning_effort="none", temperature=0.2
    )
    body = emulator.recorder.for_path("/api/v1/ai/chat_completions")[-1].json()
    assert body["reasoning_effort"] == "none"
    assert body["temperature"] == 0.2
    assert getattr(done.choices[0].message, "reasoning_content", None) is None


async def test_bad_reasoning_effort_is_400(aopenai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="reasoning effort"):
        await aopenai.chat.completions.create(
            model=REASONING_MODEL, messages=user("x"), reasoning_effort="extreme"
        )


async def test_tool_call_round_trip_streamed(client: openai.AsyncOpenAI) -> None:
    messages: list[Any] = user("What is the weather in Paris? @tool @chunks:3")
    stream = await client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER], stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for call in choice.delta.tool_calls or ():
            if call.id:
                assert call.type == "function"
                assert call.function
                assert call.function.name
                calls[call.index] = {"id": call.id, "name": call.function.name, "arguments": ""}
            assert call.function is not None
            calls[call.index]["arguments"] += call.function.arguments or ""
    assert finish == "tool_calls"
    assert list(calls) == [0]
    call = calls[0]
    assert call["name"] == "get_weather"
    arguments = json.loads(call["arguments"])
    assert arguments == arguments_for(WEATHER["function"]["parameters"])  # type: ignore[index]

    result = "18 degrees and sunny"
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": result},
    ]
    final = await client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "".join(
        tool_reply_chunks("get_weather", result, MODEL, 3)
    )


async def test_tool_call_non_streamed_from_a_summary_only_provider(
    aopenai: openai.AsyncOpenAI,
) -> None:
    done = await aopenai.chat.completions.create(
        model="google-gemini-3.5-flash", messages=user("weather? @tool"), tools=[WEATHER]
    )
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}


async def test_models_list_and_one_model_with_a_slash(client: openai.AsyncOpenAI) -> None:
    models = await client.models.list()
    ids = [m.id for m in models.data]
    assert MODEL in ids
    assert "openai-gpt-4o" in ids
    assert "anthropic-claude-sonnet-4-reasoning" not in ids  # deprecated left out
    assert all(m.object == "model" and m.owned_by for m in models.data)
    model = await client.models.retrieve("groq-openai/gpt-oss-20b")
    assert model.id == "groq-openai/gpt-oss-20b"
    assert model.owned_by == "groq"
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("no-such/model")
    assert caught.value.code == "model_not_found"


async def test_model_filters(emulator: EmulatorServer, upstream: Any) -> None:
    settings = GatewaySettings(include_premium=False, include_deprecated=True)
    transport = httpx2.ASGITransport(create_app(settings, client=upstream))
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:
        ids = [m["id"] for m in (await http.get("/v1/models")).json()["data"]]
    assert MODEL in ids
    assert "openai-gpt-4o" not in ids
    assert "anthropic-claude-sonnet-4-reasoning" not in ids  # premium, though deprecated
    assert "google-gemini-3.5-flash" in ids


@pytest.mark.parametrize(
    ("fault", "error", "status", "message"),
    [
        ("401", openai.AuthenticationError, 401, "Your session has expired"),
        ("403", openai.PermissionDeniedError, 403, "You do not have access"),
        ("404", openai.NotFoundError, 404, "Model does not exist"),
        ("429", openai.RateLimitError, 429, "Too many requests"),
        ("500", openai.InternalServerError, 502, "Internal server error"),
        ("503", openai.InternalServerError, 503, "temporarily unavailable"),
        ("reset-before", openai.InternalServerError, 502, "Could not reach Raycast"),
        ("context_error", openai.BadRequestError, 400, "The message was too long (125%)"),
        ("credits_error", openai.RateLimitError, 429, "used all your AI credits"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_faults_before_the_first_token_keep_their_status(
    aopenai: openai.AsyncOpenAI,
    fault: str,
    error: type[openai.APIStatusError],
    status: int,
    message: str,
    stream: bool,
) -> None:
    with pytest.raises(error) as caught:
        await aopenai.chat.completions.create(
            model=MODEL, messages=user(f"hello @fault:{fault}"), stream=stream
        )
    assert caught.value.status_code == status
    assert message in caught.value.message
    assert caught.value.request_id  # x-request-id
    if fault == "429":
        assert caught.value.response.headers["retry-after"] == "1"
    if fault == "credits_error":
        assert caught.value.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("reset-mid", 502, "broke in the middle of the answer"),
        ("truncate", 502, "ended before the answer was finished"),
        ("stall", 504, "read timeout passed"),
        ("malformed", 502, "not JSON"),
    ],
)
async def test_faults_after_the_first_token(
    client: openai.AsyncOpenAI, fault: str, status: int, message: str
) -> None:
    prompt = f"hello @fault:{fault} @stall:5 @chunks:8"
    with pytest.raises(openai.InternalServerError) as whole:
        await client.chat.completions.create(model=MODEL, messages=user(prompt))
    assert whole.value.status_code == status
    assert message in whole.value.message

    stream = await client.chat.completions.create(model=MODEL, messages=user(prompt), stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError) as mid:
        await drain(stream, received)
    assert message in mid.value.message
    assert "".join(received)  # some text came before the error
    assert expected(prompt, 8).startswith("".join(received))


async def test_reroute_is_a_header_not_content(client: openai.AsyncOpenAI) -> None:
    prompt = "hi @fault:model_updated @chunks:4"
    raw = await client.chat.completions.with_raw_response.create(model=MODEL, messages=user(prompt))
    assert "rerouted to GPT-4o" in raw.headers["x-raycast-rerouted"]
    assert raw.parse().choices[0].message.content == expected(prompt, 4)

    streamed = await client.chat.completions.with_raw_response.create(
        model=MODEL, messages=user(prompt), stream=True
    )
    assert "rerouted to GPT-4o" in streamed.headers["x-raycast-rerouted"]
    text = "".join([c.choices[0].delta.content or "" async for c in streamed.parse()])
    assert text == expected(prompt, 4)


async def test_unknown_model_is_404_model_not_found(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="gpt-9-ultra", messages=user("x"), stream=True)
    assert caught.value.code == "model_not_found"
    assert caught.value.type == "invalid_request_error"
    assert "Unknown model 'gpt-9-ultra'" in caught.value.message


async def test_n_above_one_is_400(aopenai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await aopenai.chat.completions.create(model=MODEL, messages=user("x"), n=2)
    assert caught.value.param == "n"


async def test_audio_parts_are_400(aopenai: openai.AsyncOpenAI) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    with pytest.raises(openai.BadRequestError, match="audio") as caught:
        await aopenai.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": [audio]}],  # type: ignore[list-item]
        )
    assert caught.value.param == "messages.0.content.0"


async def test_ignored_fields_are_accepted(aopenai: openai.AsyncOpenAI) -> None:
    done = await aopenai.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, *user("x @chunks:1")],
        max_tokens=5,
        stop=["\n"],
        top_p=0.5,
        seed=1,
        user="someone",
        response_format={"type": "text"},
        extra_body={"unknown_field": True},
    )
    assert done.choices[0].message.content == expected("x @chunks:1", 1)


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"{not json", "application/json", "invalid_json"),
        (b"[]", "application/json", None),
        (b'{"model": "x"}', "application/json", None),
        (b'{"messages": [], "model": "x"}', "application/json", None),
        (b'{"messages": [{"content": "x"}]}', "application/json", None),
    ],
)
async def test_malformed_bodies_are_400(
    http: httpx2.AsyncClient, body: bytes, content_type: str, code: str | None
) -> None:
    response = await http.post(
        "/v1/chat/completions", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["message"]


async def test_validation_errors_do_not_echo_the_prompt(http: httpx2.AsyncClient) -> None:
    body = {"messages": [{"role": "user", "content": "top secret prompt"}], "temperature": 9}
    response = await http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "temperature"
    assert "top secret" not in response.text


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_route_is_404_naming_method_and_path(
    http: httpx2.AsyncClient, method: str
) -> None:
    """As OpenAI answers: a client must not read it as "model not found"."""
    response = await http.request(method, "/v1/foo", json={"model": "gpt-4"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == f"Invalid URL ({method} /v1/foo)"
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "not_found"
    assert "model" not in error["message"].lower()


async def test_unknown_route_through_the_openai_sdk_is_not_found(http: httpx2.AsyncClient) -> None:
    client = openai.AsyncOpenAI(api_key="x", base_url="http://gw/v1", http_client=http)
    with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(POST /v1/foo\)"):
        await client.post("/foo", body={}, cast_to=object)


async def test_wrong_method_is_405_in_openai_shape(http: httpx2.AsyncClient) -> None:
    response = await http.get("/v1/chat/completions")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "GET" in error["message"] and "/v1/chat/completions" in error["message"]


async def test_an_unknown_path_is_echoed_printable_and_bounded(http: httpx2.AsyncClient) -> None:
    response = await http.post("/v1/" + "x" * 5000)
    assert response.status_code == 404
    assert len(response.json()["error"]["message"]) < 300


async def test_openapi_document_lists_every_route(http: httpx2.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert {"/v1/chat/completions", "/v1/models", "/health", "/ready"} <= set(document["paths"])


async def test_health_and_ready(http: httpx2.AsyncClient) -> None:
    health = await http.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = await http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["models"] > 5
    assert ready.json()["ready"] is True
    assert ready.headers["x-request-id"]


async def test_ready_is_503_when_raycast_is_unreachable(tmp_path: Any) -> None:
    async with AsyncRaycastClient(
        token="t", base_url="http://127.0.0.1:9", home=tmp_path, max_retries=0
    ) as dead:
        transport = httpx2.ASGITransport(create_app(GatewaySettings(), client=dead))
        async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:
            assert (await http.get("/health")).status_code == 200
            ready = await http.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "upstream_unreachable"


async def test_missing_raycast_token_is_a_server_error(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("RAYCAST_TOKEN", raising=False)
    transport_calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        transport_calls.append(request.url.path)
        return httpx2.Response(200, json={"models": [{"id": MODEL, "provider": "openai"}]})

    async with AsyncRaycastClient(
        base_url="http://raycast.test", home=tmp_path, transport=httpx2.MockTransport(handler)
    ) as tokenless:
        transport = httpx2.ASGITransport(create_app(GatewaySettings(), client=tokenless))
        async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:
            response = await http.post("/v1/chat/completions", json={"messages": user("x")})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "raycast_token_missing"
    assert "RAYCAST_TOKEN" in response.json()["error"]["message"]


def test_sync_client_against_uvicorn(sync_openai: openai.OpenAI) -> None:
    prompt = "sync please @chunks:5"
    done = sync_openai.chat.completions.create(model=MODEL, messages=user(prompt))
    assert done.choices[0].message.content == expected(prompt, 5)
    stream = sync_openai.chat.completions.create(
        model=MODEL, messages=user(prompt), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected(
        prompt, 5
    )
    assert chunks[-1].usage is not None
    assert next(m.id for m in sync_openai.models.list())
    with pytest.raises(openai.RateLimitError):
        sync_openai.chat.completions.create(model=MODEL, messages=user("x @fault:429"))


def test_sync_client_in_process(upstream_options: dict[str, Any]) -> None:
    settings = GatewaySettings(client_options=upstream_options)
    with TestClient(create_app(settings), base_url="http://gateway") as http:
        client = openai.OpenAI(
            api_key="unused", base_url="http://gateway/v1", http_client=http, max_retries=0
        )
        prompt = "in process @chunks:4"
        done = client.chat.completions.create(model=MODEL, messages=user(prompt))
        assert done.choices[0].message.content == expected(prompt, 4)
        stream = client.chat.completions.create(model=MODEL, messages=user(prompt), stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream) == expected(prompt, 4)


def test_a_client_disconnect_closes_the_upstream_request(
    patient_gateway: Any, emulator: EmulatorServer
) -> None:
    base_url = patient_gateway.base_url + "/v1"
    with openai.OpenAI(api_key="-", base_url=base_url, max_retries=0) as client:
        stream = client.chat.completions.create(  # 8 s of answer, unless cut short
            model=MODEL, messages=user("long one @chunks:400 @delay:0.02"), stream=True
        )
        chunks = iter(stream)
        next(chunks)
        next(chunks)
        stream.close()
        record = emulator.recorder.wait_for_outcome("disconnected", timeout=2.0)
    assert record.path == "/api/v1/ai/chat_completions"


def test_api_keys_and_body_limit_under_uvicorn(keyed_gateway: Any) -> None:
    base = keyed_gateway.base_url + "/v1"
    with openai.OpenAI(api_key="sk-wrong", base_url=base, max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError) as caught:
            wrong.models.list()
        assert caught.value.code == "invalid_api_key"
        assert caught.value.request_id
    with openai.OpenAI(api_key="sk-gateway-test", base_url=base, max_retries=0) as right:
        assert right.models.list().data
        with pytest.raises(openai.APIStatusError) as too_big:
            right.chat.completions.create(model=MODEL, messages=user("x" * 70_000))
        assert too_big.value.status_code == 413
        assert too_big.value.code == "request_too_large"
    with httpx2.Client(base_url=keyed_gateway.base_url) as http:
        assert http.get("/health").status_code == 200
        preflight = http.options(
            "/v1/chat/completions",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers
        ok = http.get("/v1/models", headers={"x-api-key": "sk-gateway-test", "x-request-id": "r-1"})
        assert ok.status_code == 200
        assert ok.headers["x-request-id"] == "r-1"


async def test_no_docs_pages(http: httpx2.AsyncClient) -> None:
    """A personal gateway serves no HTML (Swagger UI would load scripts from a CDN)."""
    for path in ("/docs", "/redoc"):
        assert (await http.get(path)).status_code == 404


@pytest.mark.parametrize(
    ("prompt", "stream"),
    [
        ("wait for it @fault:stall-before @stall:5", True),
        ("a slow whole answer @chunks:100 @delay:0.05", False),
    ],
    ids=["before-the-first-token", "non-streamed"],
)
def test_a_client_that_gives_up_early_closes_the_upstream_request(
    patient_gateway: Any, emulator: EmulatorServer, prompt: str, stream: bool
) -> None:
    base_url = patient_gateway.base_url + "/v1"
    with (
        openai.OpenAI(api_key="-", base_url=base_url, max_retries=0, timeout=0.3) as impatient,
        pytest.raises(openai.APITimeoutError),
    ):
        impatient.chat.completions.create(model=MODEL, messages=user(prompt), stream=stream)
    record = emulator.recorder.wait_for_outcome("disconnected", timeout=2.0)
    assert record.path == "/api/v1/ai/chat_completions"
    assert prompt in record.body.decode()
