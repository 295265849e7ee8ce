"""RaycastClient and AsyncRaycastClient against the emulator over a real loopback socket.

Every test runs on both clients (the sync one blocks inside the async test; the emulator serves
from its own thread). Expected text comes from the emulator's deterministic generator, so a
test knows exactly what must arrive; retries sleep through an injected recorder, so they are
instant. The unit tests over scripted transports are in test_client.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raycast_ai import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    Finish,
    IncompleteStreamError,
    ModelNotFoundError,
    Notice,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    RaycastError,
    StreamDecodeError,
    TextDelta,
    Timeout,
    ToolCallDelta,
    UpstreamError,
    Usage,
)
from raycast_ai.emulator import EMULATOR_SECRET
from raycast_ai.emulator.catalog import models_payload
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.stream import answer_reply
from raycast_ai.emulator.text import (
    answer_chunks,
    count_tokens,
    reasoning_chunks,
    tool_reply_chunks,
)
from raycast_ai.protocol.request import CHAT_PATH, MODELS_PATH
from raycast_ai.protocol.signing import is_device_id, verify_v2
from support_emulator import (
    DEFAULT_CHUNKS,
    DEFAULT_MODEL_ID,
    ENV_VARS,
    Attempt,
    Harness,
    MakeHarness,
    chat_requests,
    new_nonce,
    settled_outcomes,
    user,
    wait_for_outcome,
)

pytestmark = pytest.mark.anyio

FEW = 3  # text chunks the emulator sends before a mid-stream fault (emulator.stream.FEW)
FAST_READ = Timeout(connect=2.0, read=0.5, write=2.0, pool=2.0)
LIMIT = 5.0  # no fault may take longer than this to surface
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city", "unit", "days"],
        },
    },
}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing from the user's environment or data folder leaks in (or gets written)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAYCAST_AI_HOME", str(tmp_path / "env-home"))


@pytest.fixture
def nonce() -> str:
    return new_nonce()


def expected(prompt: str, model_id: str = DEFAULT_MODEL_ID, n: int = DEFAULT_CHUNKS) -> str:
    return "".join(answer_chunks(prompt, model_id, n))


def few(prompt: str, model_id: str = DEFAULT_MODEL_ID) -> str:
    """The text a mid-stream fault lets through before it strikes."""
    return "".join(answer_chunks(prompt, model_id, DEFAULT_CHUNKS)[:FEW])


async def failing(harness: Harness, prompt: str, model: str | None = None) -> Attempt:
    attempt = await harness.attempt(user(prompt), model)
    assert attempt.error is not None, f"expected an error, the answer was {attempt.text!r}"
    assert attempt.elapsed < LIMIT, attempt.elapsed
    return attempt


# --- happy paths ------------------------------------------------------------------------------


async def test_answer_is_exact_with_usage_and_stop(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"Hello there {nonce}"
    completion = await make().complete(user(prompt))
    assert completion.text == expected(prompt)
    assert completion.finish_reason == "stop"
    assert completion.model == DEFAULT_MODEL_ID
    assert completion.usage == Usage(count_tokens(prompt), count_tokens(completion.text))
    assert completion.usage.input_tokens > 0 and completion.usage.output_tokens > 0
    assert (completion.reasoning, completion.tool_calls, completion.notices) == ("", (), ())
    assert settled_outcomes(emulator, nonce) == ["completed"]


async def test_stream_yields_each_piece_then_usage_and_finish(
    make: MakeHarness, nonce: str
) -> None:
    prompt = f"Pieces please @chunks:7 {nonce}"
    attempt = await make().attempt(user(prompt))
    assert attempt.error is None
    pieces = [e.text for e in attempt.events if isinstance(e, TextDelta)]
    assert pieces == answer_chunks(prompt, DEFAULT_MODEL_ID, 7)
    assert [e.kind for e in attempt.events if isinstance(e, Notice)] == ["provider_status", "ping"]
    assert isinstance(attempt.events[-2], Usage)
    assert attempt.events[-1] == Finish("stop")


@pytest.mark.parametrize(
    ("name", "model", "provider"),
    [
        ("gpt-3.5-turbo", "gpt-4o-mini", "openai"),  # the seed's alias
        ("anthropic-claude-sonnet-4", "claude-sonnet-4-20250514", "anthropic"),  # a catalog id
        ("gemini-2.5-pro-preview-06-05", "gemini-2.5-pro-preview-06-05", "google"),  # a model
    ],
)
async def test_body_names_catalog_model_and_provider_and_is_signed(
    make: MakeHarness,
    emulator: EmulatorServer,
    nonce: str,
    tmp_path: Path,
    name: str,
    model: str,
    provider: str,
) -> None:
    harness = make()
    await harness.complete(user(f"Sign this {nonce}"), name)
    [record] = chat_requests(emulator, nonce)
    body = record.json()
    assert (body["model"], body["provider"]) == (model, provider)
    assert body["messages"] == [{"author": "user", "content": {"text": f"Sign this {nonce}"}}]
    headers = record.headers
    assert headers["authorization"] == "Bearer emulator-token"
    device_id = headers["x-raycast-deviceid"]
    assert is_device_id(device_id)
    assert device_id == harness.client.settings.device_id
    assert (tmp_path / "home" / "device_id").read_text().strip() == device_id
    signature = headers["x-raycast-signature-v2"]
    timestamp = headers["x-raycast-timestamp"]
    assert verify_v2(EMULATOR_SECRET, timestamp, device_id, record.body, signature)
    assert not verify_v2(EMULATOR_SECRET, timestamp, device_id, record.body + b" ", signature)
    assert not verify_v2("another secret", timestamp, device_id, record.body, signature)


async def test_models_come_from_the_emulator_and_are_cached_in_home(
    make: MakeHarness, emulator: EmulatorServer, tmp_path: Path
) -> None:
    harness = make()
    before = len(emulator.recorder.for_path(MODELS_PATH))
    catalog = await harness.models()
    assert catalog.get(DEFAULT_MODEL_ID) is not None
    assert catalog.default().id == DEFAULT_MODEL_ID
    assert len(catalog.models) == len(models_payload()["models"])
    cache = json.loads((tmp_path / "home" / "models-cache.json").read_text())
    assert cache["base_url"] == emulator.base_url
    assert await harness.models() is catalog  # cached: no second GET
    assert len(emulator.recorder.for_path(MODELS_PATH)) == before + 1
    await harness.models(refresh=True)
    assert len(emulator.recorder.for_path(MODELS_PATH)) == before + 2


async def test_reasoning_model_streams_reasoning_first(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"Think about it {nonce}"
    model_id = "openai_o1-o3"
    attempt = await make().attempt(user(prompt), model_id)
    assert attempt.error is None
    kinds = [type(e).__name__ for e in attempt.events if type(e) is not Notice]
    assert kinds.index("TextDelta") > kinds.index("ReasoningDelta")
    completion = await make().complete(user(prompt), model_id)
    reasoning = "".join(reasoning_chunks(prompt, model_id, 3))
    assert completion.reasoning == reasoning and reasoning
    assert completion.text == expected(prompt, model_id)
    assert completion.usage is not None
    assert completion.usage.output_tokens == count_tokens(reasoning) + count_tokens(completion.text)
    assert chat_requests(emulator, nonce)[-1].json()["reasoning_effort"] == "medium"


async def test_reasoning_effort_none_turns_reasoning_off(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"No thinking {nonce}"
    model_id = "anthropic-claude-opus-4-8"
    thinking = await make().complete(user(prompt), model_id, reasoning_effort="high")
    plain = await make().complete(user(prompt), model_id, reasoning_effort="none")
    assert thinking.reasoning == "".join(reasoning_chunks(prompt, model_id, 3))
    assert plain.reasoning == ""
    assert thinking.text == plain.text == expected(prompt, model_id)
    efforts = [r.json()["reasoning_effort"] for r in chat_requests(emulator, nonce)]
    assert efforts == ["high", "none"]


async def test_gemini_upper_case_stop_is_normalised(make: MakeHarness, nonce: str) -> None:
    # The emulator really sends Gemini's upper-case finish reason.
    assert b'"finish_reason":"STOP"' in answer_reply("google", [], ["x"], (1, 1)).finish
    prompt = f"Hi Gemini {nonce}"
    model_id = "google-gemini-2.5-pro"
    completion = await make().complete(user(prompt), model_id)
    assert completion.finish_reason == "stop"
    assert completion.text == expected(prompt, model_id)
    assert completion.model == model_id


@pytest.mark.parametrize(
    "model_id", ["anthropic-claude-sonnet-4", "google-gemini-2.5-pro", DEFAULT_MODEL_ID]
)
async def test_tool_call_round_trip(
    make: MakeHarness, emulator: EmulatorServer, nonce: str, model_id: str
) -> None:
    harness = make()
    question = [{"role": "user", "content": f"What is the weather in Paris? @tool {nonce}"}]
    attempt = await harness.attempt(question, model_id, tools=[WEATHER_TOOL])
    assert attempt.error is None
    deltas = [e for e in attempt.events if isinstance(e, ToolCallDelta)]
    assert deltas and {d.index for d in deltas} == {0}
    assert deltas[0].name == "get_weather" and deltas[0].id
    assert all(d.id == d.name == "" for d in deltas[1:])  # later pieces only add arguments
    streamed_arguments = "".join(d.arguments for d in deltas)
    assert json.loads(streamed_arguments) == {"city": "Paris", "unit": "celsius", "days": 1}
    called = await harness.complete(question, model_id, tools=[WEATHER_TOOL])
    assert called.finish_reason == "tool_calls"
    assert called.text == ""
    [call] = called.tool_calls
    assert call.name == "get_weather"
    assert call.id.startswith("toolu_") or model_id.startswith("google")
    assert isinstance(call.arguments, str)
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "celsius", "days": 1}
    offered = chat_requests(emulator, nonce)[-1].json()["tools"]
    assert offered[0]["type"] == "local_tool"
    assert offered[0]["function"]["name"] == "get_weather"

    result = "18 °C and sunny"
    follow_up = [
        *question,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    answer = await harness.complete(follow_up, model_id, tools=[WEATHER_TOOL])
    assert answer.tool_calls == ()
    assert answer.finish_reason == "stop"
    assert result in answer.text
    assert answer.text == "".join(
        tool_reply_chunks("get_weather", result, model_id, DEFAULT_CHUNKS)
    )
    sent = chat_requests(emulator, nonce)[-1].json()["messages"]
    assert sent[-1] == {
        "author": "tool",
        "content": {"text": result},
        "name": "get_weather",
        "tool_call_id": call.id,
    }


# --- HTTP error statuses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [("401", AuthenticationError), ("403", PermissionDeniedError), ("404", ModelNotFoundError)],
)
async def test_client_error_statuses_are_typed_and_not_retried(
    make: MakeHarness, emulator: EmulatorServer, nonce: str, fault: str, error: type[Exception]
) -> None:
    harness = make(max_retries=3)
    attempt = await failing(harness, f"@fault:{fault} {nonce}")
    assert type(attempt.error) is error
    assert isinstance(attempt.error, error) and attempt.error.status_code == int(fault)
    assert settled_outcomes(emulator, nonce) == [f"fault:{fault}"]
    assert harness.sleeps == []


async def test_rate_limit_without_retries_carries_retry_after(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(max_retries=0)
    attempt = await failing(harness, f"@fault:429 @retry-after:7 {nonce}")
    assert isinstance(attempt.error, RateLimitError)
    assert attempt.error.retry_after == 7.0
    assert attempt.error.status_code == 429
    assert len(chat_requests(emulator, nonce)) == 1
    assert harness.sleeps == []


async def test_rate_limit_waits_retry_after_then_gives_up(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(max_retries=2)
    attempt = await failing(harness, f"@fault:429 @retry-after:4 {nonce}")
    assert isinstance(attempt.error, RateLimitError) and attempt.error.retry_after == 4.0
    assert harness.sleeps == [4.0, 4.0]
    assert len(chat_requests(emulator, nonce)) == 3


async def test_flaky_rate_limit_is_retried_after_retry_after(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(max_retries=2)
    prompt = f"@fault:flaky-429 @retry-after:2 {nonce}"
    completion = await harness.complete(user(prompt))
    assert completion.text == expected(prompt)
    assert harness.sleeps == [2.0]
    assert settled_outcomes(emulator, nonce) == ["fault:flaky-429", "completed"]
    first, second = chat_requests(emulator, nonce)
    assert first.body == second.body  # the same message is sent again


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_then_typed(
    make: MakeHarness, emulator: EmulatorServer, nonce: str, status: int
) -> None:
    harness = make(max_retries=2)
    attempt = await failing(harness, f"@fault:{status} {nonce}")
    assert type(attempt.error) is UpstreamError
    assert attempt.error.status_code == status
    assert f"HTTP {status}" in str(attempt.error)
    assert settled_outcomes(emulator, nonce) == [f"fault:{status}"] * 3  # max_retries + 1
    assert len(harness.sleeps) == 2 and 0 < harness.sleeps[0] < harness.sleeps[1]


@pytest.mark.parametrize("fault", ["flaky-503", "flaky-reset"])
async def test_flaky_failures_are_retried_to_success(
    make: MakeHarness, emulator: EmulatorServer, nonce: str, fault: str
) -> None:
    harness = make(max_retries=2)
    prompt = f"@fault:{fault} {nonce}"
    completion = await harness.complete(user(prompt))
    assert completion.text == expected(prompt)
    assert completion.finish_reason == "stop"
    assert settled_outcomes(emulator, nonce) == [f"fault:{fault}", "completed"]
    assert len(harness.sleeps) == 1


# --- broken connections and timeouts ----------------------------------------------------------


async def test_reset_before_any_byte_is_retried_then_a_connection_error(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(max_retries=2)
    attempt = await failing(harness, f"@fault:reset-before {nonce}")
    assert type(attempt.error) is APIConnectionError
    assert emulator.base_url in str(attempt.error)
    assert attempt.events == []
    assert settled_outcomes(emulator, nonce) == ["fault:reset-before"] * 3
    assert len(harness.sleeps) == 2


async def test_reset_mid_stream_keeps_the_text_that_arrived(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(max_retries=2)
    prompt = f"@fault:reset-mid {nonce}"
    attempt = await failing(harness, prompt)
    assert type(attempt.error) is IncompleteStreamError
    assert attempt.error.partial_text == attempt.text == few(prompt)
    assert attempt.text
    assert settled_outcomes(emulator, nonce) == ["fault:reset-mid"]  # text went out: never retried
    assert harness.sleeps == []


async def test_stall_mid_stream_times_out_at_the_read_timeout(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(timeout=FAST_READ, max_retries=2)
    prompt = f"@fault:stall @stall:4 {nonce}"
    attempt = await failing(harness, prompt)
    assert type(attempt.error) is APITimeoutError
    assert 0.4 < attempt.elapsed < 3.0
    assert attempt.text == answer_chunks(prompt, DEFAULT_MODEL_ID, DEFAULT_CHUNKS)[0]
    assert len(chat_requests(emulator, nonce)) == 1
    assert harness.sleeps == []
    # The client hung up; the emulator noticed instead of writing on for 4 seconds.
    wait_for_outcome(emulator, nonce, "disconnected", 2.0)


async def test_stall_before_the_answer_is_retried_then_times_out(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(timeout=FAST_READ, max_retries=1)
    attempt = await failing(harness, f"@fault:stall-before @stall:4 {nonce}")
    assert type(attempt.error) is APITimeoutError
    assert isinstance(attempt.error, APIConnectionError)
    assert 0.9 < attempt.elapsed < 3.0  # two attempts of one read timeout each
    assert len(chat_requests(emulator, nonce)) == 2
    assert len(harness.sleeps) == 1
    assert attempt.events == []


async def test_truncated_stream_is_incomplete_with_partial_text(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(max_retries=2)
    prompt = f"@fault:truncate {nonce}"
    attempt = await failing(harness, prompt)
    assert type(attempt.error) is IncompleteStreamError
    assert attempt.error.partial_text == attempt.text == few(prompt)
    assert settled_outcomes(emulator, nonce) == ["fault:truncate"]


@pytest.mark.parametrize("fault", ["malformed", "oversized"])
async def test_undecodable_streams_are_decode_errors(
    make: MakeHarness, emulator: EmulatorServer, nonce: str, fault: str
) -> None:
    harness = make(max_retries=2)
    prompt = f"@fault:{fault} {nonce}"
    attempt = await failing(harness, prompt)
    assert type(attempt.error) is StreamDecodeError
    assert isinstance(attempt.error, UpstreamError)
    assert len(chat_requests(emulator, nonce)) == 1  # a corrupt stream is not retried
    assert harness.sleeps == []
    assert attempt.error.partial_text == few(prompt)


# --- errors inside a 200 stream ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "status", "says"),
    [
        ("context_error", UpstreamError, 400, "too long"),
        ("credits_error", QuotaExceededError, 429, "credits"),
        ("unknown_api_error", UpstreamError, None, "check the signing secret"),
    ],
)
async def test_in_stream_errors_are_typed(
    make: MakeHarness,
    emulator: EmulatorServer,
    nonce: str,
    fault: str,
    error: type[RaycastError],
    status: int | None,
    says: str,
) -> None:
    harness = make(max_retries=2)
    attempt = await failing(harness, f"@fault:{fault} {nonce}")
    assert type(attempt.error) is error
    assert isinstance(attempt.error, UpstreamError | RateLimitError)
    assert attempt.error.type == fault
    assert attempt.error.status_code == status
    assert says in str(attempt.error)
    assert settled_outcomes(emulator, nonce) == [f"fault:{fault}"]
    assert harness.sleeps == []


async def test_model_updated_notice_marks_a_reroute_and_the_answer_completes(
    make: MakeHarness, nonce: str
) -> None:
    prompt = f"@fault:model_updated {nonce}"
    completion = await make().complete(user(prompt), "openai-gpt-4o")
    assert completion.rerouted is not None
    assert completion.rerouted.kind == "model_updated"
    assert "rerouted to GPT-4o mini" in completion.rerouted.message
    assert [n.kind for n in completion.notices] == ["model_updated"]
    assert completion.text == expected(prompt, "openai-gpt-4o")
    assert completion.finish_reason == "stop"


# --- refused before or by the server ----------------------------------------------------------


async def test_unknown_model_suggests_ids_and_sends_nothing(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make()
    await harness.complete(user("warm the catalog"))  # the catalog is not what is under test
    chats_before = len(emulator.recorder.for_path(CHAT_PATH))
    attempt = await failing(harness, f"hi {nonce}", "openai-gpt-4o-mimi")
    assert type(attempt.error) is ModelNotFoundError
    assert attempt.error.model == "openai-gpt-4o-mimi"
    assert "openai-gpt-4o-mini" in attempt.error.suggestions
    assert "openai-gpt-4o-mini" in str(attempt.error)
    assert len(emulator.recorder.for_path(CHAT_PATH)) == chats_before


async def test_unsigned_client_is_told_how_to_set_the_secret(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(signing_secret=None, max_retries=2)
    assert not harness.client.signed
    attempt = await failing(harness, f"hi {nonce}")
    assert type(attempt.error) is AuthenticationError
    assert "RAYCAST_SIGNING_SECRET" in str(attempt.error)
    [record] = chat_requests(emulator, nonce)
    assert "x-raycast-signature-v2" not in record.headers
    assert record.outcome == "rejected:signature"


async def test_wrong_token_is_an_authentication_error(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(token="not-the-emulator-token", max_retries=2)
    attempt = await failing(harness, f"hi {nonce}")
    assert type(attempt.error) is AuthenticationError
    assert attempt.error.status_code == 401
    assert "not-the-emulator-token" not in str(attempt.error)
    assert settled_outcomes(emulator, nonce) == ["rejected:token"]


async def test_wrong_signing_secret_is_a_typed_error_not_retried(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    harness = make(signing_secret="not-the-emulator-secret", max_retries=2)
    attempt = await failing(harness, f"hi {nonce}")
    assert isinstance(attempt.error, UpstreamError | AuthenticationError)
    assert "not-the-emulator-secret" not in str(attempt.error)
    assert settled_outcomes(emulator, nonce) == ["rejected:signature"]


# --- closing early ----------------------------------------------------------------------------


async def test_breaking_out_early_disconnects_upstream(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    """Sync: break, then close the stream; async: break, then aclose()."""
    prompt = f"long answer @chunks:200 @delay:0.02 {nonce}"
    got = await make().read_then_close(user(prompt), 3)
    assert got == answer_chunks(prompt, DEFAULT_MODEL_ID, 200)[:3]
    record = wait_for_outcome(emulator, nonce, "disconnected", 2.0)
    assert record.outcome == "disconnected"  # not "completed": 200 x 0.02 s never went out


@pytest.mark.parametrize("kind", ["sync"])  # an async generator is only closed by aclose()
async def test_letting_go_of_a_sync_stream_disconnects_upstream(
    make: MakeHarness, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"long answer @chunks:200 @delay:0.02 {nonce}"
    got = await make().read_then_close(user(prompt), 3, drop=True)
    assert got == answer_chunks(prompt, DEFAULT_MODEL_ID, 200)[:3]
    wait_for_outcome(emulator, nonce, "disconnected", 2.0)
