"""The emulator over a real loopback socket: checks, the answer stream, tools and the recorder."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.app import CREDITS_PATH, ME_PATH, EmulatorConfig
from raycast_ai.emulator.catalog import models_payload
from raycast_ai.emulator.faults import Directives
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks, count_tokens, reasoning_chunks
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.events import StreamParser
from raycast_ai.protocol.request import CHAT_PATH, MODELS_PATH, ChatOptions, models_headers

from .support import DEVICE_ID, chunks, events, resigned, signed, texts

UNSIGNED_LINE = (
    b'data: {"error":{"message":"Something went wrong; please try again in a few minutes."}}\n\n'
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather-get-weather",
        "description": "Gets weather for a specific location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "query": {"type": "string", "enum": ["current", "hourly", "daily"]},
            },
            "required": ["location", "query"],
        },
    },
}


def post(http: httpx2.Client, prompt: str, model: str = "openai-gpt-4o-mini") -> httpx2.Response:
    request, headers = signed(prompt, model)
    return http.post(CHAT_PATH, content=request.body, headers=headers)


def test_a_signed_request_streams_the_exact_answer(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    response = post(http, "hello")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert b"[DONE]" not in response.content
    parsed = chunks(response.content)
    assert parsed[0]["notification_type"] == "provider_status"
    assert parsed[0]["status_page_url"] == "https://status.openai.com"
    assert parsed[1] == {"notification": "", "notification_type": "ping", "text": ""}
    expected = answer_chunks("hello", "openai-gpt-4o-mini", 12)
    assert parsed[2:-1] == [{"text": piece} for piece in expected]
    assert parsed[-1] == {
        "text": "",
        "finish_reason": "stop",
        "usage": {"input_tokens": 1, "output_tokens": count_tokens("".join(expected))},
    }
    # Compact JSON with UTF-8 kept, as the real server sends it.
    assert (
        events(response.content)[2]
        == json.dumps({"text": expected[0]}, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert emulator.recorder.wait_for_outcome("completed").path == CHAT_PATH


def test_the_protocol_parser_reads_the_stream(http: httpx2.Client) -> None:
    response = post(http, "parse me @chunks:40")
    parser = StreamParser()
    collector = Collector()
    # Feed it in awkward pieces: events and UTF-8 sequences split across reads.
    for at in range(0, len(response.content), 7):
        for ev in parser.feed(response.content[at : at + 7]):
            collector.add(ev)
    parser.end()
    done = collector.result("openai-gpt-4o-mini")
    assert done.text == "".join(answer_chunks("parse me @chunks:40", "openai-gpt-4o-mini", 40))
    assert done.finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.input_tokens == 3


def test_gemini_reasons_then_finishes_with_upper_case_stop(http: httpx2.Client) -> None:
    parsed = chunks(post(http, "think", "google-gemini-3.5-flash").content)
    thoughts = reasoning_chunks("think", "google-gemini-3.5-flash", 3)
    assert parsed[2:5] == [{"reasoning": r, "text": ""} for r in thoughts]
    assert texts(parsed) == "".join(answer_chunks("think", "google-gemini-3.5-flash", 12))
    assert parsed[-1]["finish_reason"] == "STOP"


def test_reasoning_follows_the_requested_effort(http: httpx2.Client) -> None:
    def reasoning(options: ChatOptions) -> list[str]:
        request, headers = signed("q", "anthropic-claude-opus-4-8", options=options)
        body = http.post(CHAT_PATH, content=request.body, headers=headers).content
        return [c["reasoning"] for c in chunks(body) if "reasoning" in c]

    assert reasoning(ChatOptions()) == []  # Opus defaults to effort "none"
    assert reasoning(ChatOptions(reasoning_effort="high")) == reasoning_chunks(
        "q", "anthropic-claude-opus-4-8", 3
    )


@pytest.mark.parametrize("change", ["secret", "signature", "device", "body", "timestamp"])
def test_a_bad_signature_gets_the_one_real_error_line(
    http: httpx2.Client, emulator: EmulatorServer, change: str
) -> None:
    secret = "not-the-emulator-secret" if change == "secret" else EMULATOR_SECRET
    request, headers = signed("hello", secret=secret)
    body = request.body
    if change == "signature":
        del headers["X-Raycast-Signature-v2"]
    elif change == "device":
        headers["X-Raycast-DeviceId"] = "not-a-sha256"
    elif change == "body":
        body = body.replace(b'"debug":false', b'"debug": false')
    elif change == "timestamp":
        headers["X-Raycast-Timestamp"] = str(int(headers["X-Raycast-Timestamp"]) + 1)
    response = http.post(CHAT_PATH, content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.content == UNSIGNED_LINE
    assert emulator.recorder.wait_for_outcome("rejected:signature").body == body


def test_unsigned_requests_pass_when_signatures_are_off() -> None:
    with EmulatorServer(EmulatorConfig(require_signature=False, chunks=2)) as server:
        request, headers = signed("hi", secret=None)
        response = httpx2.post(server.base_url + CHAT_PATH, content=request.body, headers=headers)
        assert texts(chunks(response.content)) == "".join(
            answer_chunks("hi", "openai-gpt-4o-mini", 2)
        )


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "Missing Authorization header"), ("wrong", "Invalid access token.")],
)
def test_a_missing_or_wrong_token_is_401(
    http: httpx2.Client, emulator: EmulatorServer, token: str | None, message: str
) -> None:
    request, headers = signed("hello", token=token)
    response = http.post(CHAT_PATH, content=request.body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["message"].startswith(message)
    assert emulator.recorder.wait_for_outcome("rejected:token").status == 401


def test_bad_bodies(http: httpx2.Client) -> None:
    request, headers = signed("x")
    unknown_pair = request.body.replace(b'"provider":"openai"', b'"provider":"anthropic"')
    for body, status, message in [
        (b"{not json", 400, "The request body is not valid JSON."),
        (b'{"messages":[]}', 400, "The body needs a non-empty 'messages' array."),
        (b"[1]", 400, "The body needs a non-empty 'messages' array."),
        (unknown_pair, 404, "Model does not exist"),
    ]:
        response = http.post(CHAT_PATH, content=body, headers=resigned(headers, body))
        assert response.status_code == status
        assert response.json() == {"error": {"message": message}}


def test_directive_typos_are_400(http: httpx2.Client, emulator: EmulatorServer) -> None:
    response = post(http, "hi @fault:reset")
    assert response.status_code == 400
    assert "Unknown emulator fault 'reset'" in response.json()["error"]["message"]
    assert emulator.recorder.wait_for_outcome("rejected:directive")


def test_directives_and_their_headers(http: httpx2.Client, emulator: EmulatorServer) -> None:
    assert len([c for c in chunks(post(http, "few @chunks:3").content) if set(c) == {"text"}]) == 3
    request, headers = signed("few @chunks:3")
    headers["X-Emulator-Chunks"] = "5"
    body = http.post(CHAT_PATH, content=request.body, headers=headers).content
    assert texts(chunks(body)) == "".join(answer_chunks("few @chunks:3", "openai-gpt-4o-mini", 5))
    recorded = emulator.recorder.wait_for_outcome("completed")
    assert recorded.directives == Directives(chunks=5)


def test_first_token_and_chunk_delays(http: httpx2.Client) -> None:
    request, headers = signed("slow @first:0.3 @delay:0.05 @chunks:3")
    arrivals: list[tuple[float, bytes]] = []
    start = time.monotonic()
    with http.stream("POST", CHAT_PATH, content=request.body, headers=headers) as response:
        for piece in response.iter_bytes():
            arrivals.append((time.monotonic() - start, piece))
    first_text = next(t for t, piece in arrivals if b'{"text":' in piece)
    assert first_text >= 0.3
    assert arrivals[0][0] < 0.25  # the opening notifications do not wait
    assert arrivals[-1][0] >= 0.3 + 2 * 0.05


def test_config_pacing_defaults() -> None:
    with EmulatorServer(EmulatorConfig(chunks=2, first_token_delay=0.2)) as server:
        request, headers = signed("hi")
        start = time.monotonic()
        response = httpx2.post(server.base_url + CHAT_PATH, content=request.body, headers=headers)
        assert time.monotonic() - start >= 0.2
        assert len(chunks(response.content)) == 2 + 2 + 1


def test_a_client_that_leaves_is_recorded_as_disconnected(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    request, headers = signed("long @delay:0.05 @chunks:200")
    with http.stream("POST", CHAT_PATH, content=request.body, headers=headers) as response:
        next(response.iter_bytes())
    assert emulator.recorder.wait_for_outcome("disconnected", timeout=3).path == CHAT_PATH


def test_a_long_stream_is_written_in_large_pieces(http: httpx2.Client) -> None:
    request, headers = signed("many @chunks:20000")
    with http.stream("POST", CHAT_PATH, content=request.body, headers=headers) as response:
        body = b"".join(response.iter_bytes())
    parsed = chunks(body)
    assert len(parsed) == 20_000 + 3
    assert parsed[-1]["finish_reason"] == "stop"


def test_tool_calls_stream_the_anthropic_way(http: httpx2.Client) -> None:
    options = ChatOptions(tools=[WEATHER_TOOL])
    request, headers = signed("weather? @tool", "anthropic-claude-sonnet-4", options=options)
    parsed = chunks(http.post(CHAT_PATH, content=request.body, headers=headers).content)
    start, *fragments, summary = parsed[2:]
    call = start["tool_calls"][0]
    assert call["id"].startswith("toolu_")
    assert start == {
        "text": "",
        "finish_reason": None,
        "tool_calls": [
            {
                "index": 2,
                "id": call["id"],
                "type": "function",
                "function": {"name": "weather-get-weather", "arguments": ""},
            }
        ],
    }
    arguments = "".join(f["tool_calls"][0]["function"]["arguments"] for f in fragments)
    assert json.loads(arguments) == {"location": "Paris", "query": "current"}
    assert summary == {
        "finish_reason": "tool_calls",
        "text": "",
        "tool_calls": [
            {
                "id": call["id"],
                "index": 3,
                "function": {"name": "weather-get-weather", "arguments": arguments},
            }
        ],
    }


def test_tool_choice_required_and_gemini_flat_summary(http: httpx2.Client) -> None:
    options = ChatOptions(tools=[WEATHER_TOOL], tool_choice="required")
    request, headers = signed("weather?", "google-gemini-3.5-flash", options=options)
    parsed = chunks(http.post(CHAT_PATH, content=request.body, headers=headers).content)
    assert [set(c) for c in parsed[2:-1]] == [{"reasoning", "text"}] * 3
    (call,) = parsed[-1]["tool_calls"]
    assert call == {
        "id": call["id"],
        "name": "weather-get-weather",
        "arguments": '{"location":"Paris","query":"current"}',
    }
    assert len(call["id"]) == 8
    assert parsed[-1]["finish_reason"] == "tool_calls"


def test_a_tool_result_comes_back_in_the_answer(http: httpx2.Client) -> None:
    result = '{"temperature":"21 °C","sky":"clear"}'
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "weather? @tool"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "weather-get-weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": result},
    ]
    options = ChatOptions(tools=[WEATHER_TOOL])
    request, headers = signed(messages, "anthropic-claude-sonnet-4", options=options)
    parsed = chunks(http.post(CHAT_PATH, content=request.body, headers=headers).content)
    assert result in texts(parsed)
    assert parsed[-1]["finish_reason"] == "stop"


def test_an_unknown_tool_name_is_400(http: httpx2.Client) -> None:
    options = ChatOptions(tools=[WEATHER_TOOL])
    request, headers = signed("@tool:nope", options=options)
    response = http.post(CHAT_PATH, content=request.body, headers=headers)
    assert response.status_code == 400
    assert "@tool:nope" in response.json()["error"]["message"]


def test_the_recorder_keeps_what_was_received(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    request, headers = signed("record me @chunks:1")
    http.post(CHAT_PATH, content=request.body, headers=headers)
    recorded = emulator.recorder.wait_for_outcome("completed")
    assert recorded.method == "POST"
    assert recorded.body == request.body
    assert recorded.json()["message_id"] == request.message_id
    assert recorded.headers["authorization"] == f"Bearer {EMULATOR_TOKEN}"
    assert recorded.headers["x-raycast-deviceid"] == DEVICE_ID
    assert recorded.status == 200
    assert recorded.directives == Directives(chunks=1)


def test_models_are_public_and_parse(http: httpx2.Client) -> None:
    response = http.get(MODELS_PATH)
    assert response.status_code == 200
    assert response.json() == models_payload()
    assert Catalog.parse(response.json()).default().id == "openai-gpt-4o-mini"


def test_private_models_need_the_token_and_a_signature_over_braces() -> None:
    with (
        EmulatorServer(EmulatorConfig(models_public=False)) as server,
        httpx2.Client(base_url=server.base_url) as http,
    ):
        good = models_headers(
            token=EMULATOR_TOKEN,
            secret=EMULATOR_SECRET,
            device_id=DEVICE_ID,
            timestamp=int(time.time()),
        )
        assert http.get(MODELS_PATH, headers=good).status_code == 200
        unsigned = {k: v for k, v in good.items() if k != "X-Raycast-Signature-v2"}
        assert http.get(MODELS_PATH, headers=unsigned).status_code == 401
        anonymous = {k: v for k, v in good.items() if k != "Authorization"}
        assert http.get(MODELS_PATH, headers=anonymous).status_code == 401


@pytest.mark.parametrize("path", [ME_PATH, CREDITS_PATH])
def test_account_endpoints_need_the_token(http: httpx2.Client, path: str) -> None:
    assert http.get(path).status_code == 401
    response = http.get(path, headers={"Authorization": f"Bearer {EMULATOR_TOKEN}"})
    assert response.status_code == 200
    payload = response.json()
    if path == CREDITS_PATH:
        assert payload["remaining_balance_credits"] == "125"
        assert payload["funding_subscription"]["tier"] == "pro"
    else:
        assert payload["eligible_for_ai"] is True
        assert payload["email"].endswith("@example.com")


def test_unknown_paths_and_methods(http: httpx2.Client) -> None:
    assert http.get("/api/v1/nope").status_code == 404
    assert http.get(CHAT_PATH).status_code == 405


def test_timestamp_freshness_when_a_skew_is_set() -> None:
    config = EmulatorConfig(max_skew_seconds=60)
    with EmulatorServer(config) as server, httpx2.Client(base_url=server.base_url) as http:
        request, headers = signed("fresh @chunks:1")
        assert (
            chunks(http.post(CHAT_PATH, content=request.body, headers=headers).content)[-1][
                "finish_reason"
            ]
            == "stop"
        )
        request, headers = signed("stale", timestamp=int(time.time()) - 3600)
        assert http.post(CHAT_PATH, content=request.body, headers=headers).content == UNSIGNED_LINE
        iso = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        headers["X-Raycast-Timestamp"] = iso
        headers = resigned(headers, request.body)
        assert (
            chunks(http.post(CHAT_PATH, content=request.body, headers=headers).content)[-1][
                "finish_reason"
            ]
            == "stop"
        )
