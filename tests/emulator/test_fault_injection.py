"""Each fault's behaviour on the wire, over a real loopback socket."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx2
import pytest

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.stream import MALFORMED_EVENT, OVERSIZED_TEXT
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.errors import StreamDecodeError
from raycast_ai.protocol.events import StreamParser
from raycast_ai.protocol.request import CHAT_PATH, MODELS_PATH

from .support import chunks, events, signed, texts

MODEL = "openai-gpt-4o-mini"
FAST = httpx2.Timeout(5.0, read=0.3)
SLOW = httpx2.Timeout(5.0)


@pytest.fixture(autouse=True)
def _no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Deliberate aborts must not leave tracebacks in the server's log."""
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        yield
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert errors == []


def post(http: httpx2.Client, prompt: str, **headers: str) -> httpx2.Response:
    request, signed_headers = signed(prompt)
    return http.post(CHAT_PATH, content=request.body, headers=signed_headers | headers)


def read_until_error(
    http: httpx2.Client, prompt: str, timeout: httpx2.Timeout = SLOW
) -> tuple[int, bytes, Exception]:
    request, headers = signed(prompt)
    pieces: list[bytes] = []
    status = 0

    def read() -> None:
        nonlocal status
        with http.stream(
            "POST", CHAT_PATH, content=request.body, headers=headers, timeout=timeout
        ) as response:
            status = response.status_code
            pieces.extend(response.iter_bytes())

    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadTimeout)) as caught:
        read()
    return status, b"".join(pieces), caught.value


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        ("401", 401, "Your session has expired. Please log in again."),
        ("403", 403, "You do not have access to this resource."),
        ("404", 404, "Model does not exist"),
        ("500", 500, "Internal server error"),
        ("502", 502, "Bad gateway"),
        ("503", 503, "The AI provider is temporarily unavailable."),
    ],
)
def test_status_faults(
    http: httpx2.Client, emulator: EmulatorServer, fault: str, status: int, message: str
) -> None:
    response = post(http, f"hi @fault:{fault}")
    assert response.status_code == status
    assert response.json() == {"error": {"message": message}}
    assert "retry-after" not in response.headers
    assert emulator.recorder.wait_for_outcome(f"fault:{fault}").status == status


def test_429_says_when_to_retry(http: httpx2.Client) -> None:
    response = post(http, "hi @fault:429")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert post(http, "hi @fault:429 @retry-after:7").headers["retry-after"] == "7"
    assert post(http, "hi @fault:503 @retry-after:0.5").headers["retry-after"] == "0.5"


def test_header_directives(http: httpx2.Client) -> None:
    response = post(http, "hi", **{"X-Emulator-Fault": "429", "X-Emulator-Retry-After": "3"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert post(http, "hi", **{"X-Emulator-Fault": "bogus"}).status_code == 400


def test_reset_before_drops_the_connection_before_any_body(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    status, received, error = read_until_error(http, "hi @fault:reset-before")
    assert status == 200
    assert received == b""
    assert isinstance(error, httpx2.RemoteProtocolError)
    assert emulator.recorder.wait_for_outcome("fault:reset-before")


def test_reset_mid_drops_the_connection_after_a_few_chunks(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    prompt = "hi @fault:reset-mid"
    _, received, error = read_until_error(http, prompt)
    assert isinstance(error, httpx2.RemoteProtocolError)
    assert texts(chunks(received)) == "".join(answer_chunks(prompt, MODEL, 12)[:3])
    assert emulator.recorder.wait_for_outcome("fault:reset-mid")


def test_truncate_closes_cleanly_without_a_finish_reason(http: httpx2.Client) -> None:
    prompt = "hi @fault:truncate"
    parsed = chunks(post(http, prompt).content)
    assert all("finish_reason" not in c for c in parsed)
    assert texts(parsed) == "".join(answer_chunks(prompt, MODEL, 12)[:3])


def test_malformed_sends_one_line_that_is_not_json(http: httpx2.Client) -> None:
    body = post(http, "hi @fault:malformed").content
    assert MALFORMED_EVENT in body
    before, after = body.split(MALFORMED_EVENT)
    assert len(chunks(before)) == 2 + 3
    assert chunks(after)[-1]["finish_reason"] == "stop"
    parser = StreamParser()
    assert parser.feed(body)  # the events before the bad line are kept ...
    with pytest.raises(StreamDecodeError):
        parser.end()  # ... and the error comes next


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        (
            "context_error",
            b'data: {"error":{"message":"The message was too long (125%). Submit something'
            b' shorter","type":"context_error"}}\n\n',
        ),
        (
            "credits_error",
            b'data: {"error":{"message":"You have used all your AI credits for this period.",'
            b'"type":"credits_error"}}\n\n',
        ),
        (
            "unknown_api_error",
            b'data: {"error":{"message":"An unknown error occurred.","type":"unknown_api_error"}}'
            b"\n\n",
        ),
        (
            "free_trial",
            b'data: {"error":{"message":"You\'ve reached your free trial limit of 25 AI requests '
            b'per hour. Upgrade to Raycast Pro to continue, or try again in 7 minutes."}}\n\n',
        ),
    ],
)
def test_in_stream_errors_are_one_line(http: httpx2.Client, fault: str, line: bytes) -> None:
    response = post(http, f"hi @fault:{fault}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.content == line


def test_model_updated_notice_then_a_normal_answer(http: httpx2.Client) -> None:
    prompt = "hi @fault:model_updated"
    parsed = chunks(post(http, prompt).content)
    notice = parsed[1]
    assert notice["notification_type"] == "model_updated"
    assert "rerouted to GPT-4o" in notice["notification"]
    assert notice["text"] == ""
    assert texts(parsed) == "".join(answer_chunks(prompt, MODEL, 12))
    assert parsed[-1]["finish_reason"] == "stop"


def test_oversized_sends_one_event_over_a_mebibyte(http: httpx2.Client) -> None:
    body = post(http, "hi @fault:oversized").content
    sizes = [len(data) for data in events(body)]
    assert max(sizes) > OVERSIZED_TEXT > 1 << 20
    parser = StreamParser()
    assert parser.feed(body)  # the events before the oversized one are kept ...
    with pytest.raises(StreamDecodeError, match="exceeded"):
        parser.end()  # ... and the error comes next


def test_stall_goes_quiet_after_the_first_text_chunk(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    prompt = "hi @fault:stall @stall:5"
    _, received, error = read_until_error(http, prompt, FAST)
    assert isinstance(error, httpx2.ReadTimeout)
    assert texts(chunks(received)) == answer_chunks(prompt, MODEL, 12)[0]
    assert emulator.recorder.wait_for_outcome("disconnected").directives is not None


def test_stall_before_sends_not_even_headers(http: httpx2.Client, emulator: EmulatorServer) -> None:
    request, headers = signed("hi @fault:stall-before @stall:5")
    with pytest.raises(httpx2.ReadTimeout):
        http.post(CHAT_PATH, content=request.body, headers=headers, timeout=FAST)
    assert emulator.recorder.wait_for_outcome("disconnected").status is None


def test_a_short_stall_ends_in_a_whole_answer(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    prompt = "hi @fault:stall @stall:0.05"
    assert texts(chunks(post(http, prompt).content)) == "".join(answer_chunks(prompt, MODEL, 12))
    assert emulator.recorder.wait_for_outcome("fault:stall")


@pytest.mark.parametrize("fault", ["flaky-503", "flaky-429", "flaky-reset"])
def test_flaky_faults_fail_only_the_first_attempt(
    http: httpx2.Client, emulator: EmulatorServer, fault: str
) -> None:
    request, headers = signed(f"hi @fault:{fault} @retry-after:0")

    def attempt() -> httpx2.Response:
        return http.post(CHAT_PATH, content=request.body, headers=headers)

    if fault == "flaky-reset":
        with pytest.raises(httpx2.RemoteProtocolError):
            attempt()
    else:
        assert attempt().status_code == int(fault[-3:])
    assert emulator.recorder.wait_for_outcome(f"fault:{fault}")
    assert chunks(attempt().content)[-1]["finish_reason"] == "stop"
    assert emulator.recorder.wait_for_outcome("completed")
    # Another message fails again.
    other, other_headers = signed(f"hi @fault:{fault} @retry-after:0")
    assert other.message_id != request.message_id
    if fault != "flaky-reset":
        response = http.post(CHAT_PATH, content=other.body, headers=other_headers)
        assert response.status_code == int(fault[-3:])


def test_faults_on_the_json_endpoints(http: httpx2.Client, emulator: EmulatorServer) -> None:
    assert http.get(MODELS_PATH, headers={"X-Emulator-Fault": "503"}).status_code == 503
    response = http.get(MODELS_PATH, headers={"X-Emulator-Fault": "429"})
    assert response.headers["retry-after"] == "1"
    with pytest.raises(httpx2.RemoteProtocolError):
        http.get(MODELS_PATH, headers={"X-Emulator-Fault": "reset-before"})
    with pytest.raises(httpx2.ReadTimeout):
        http.get(MODELS_PATH, headers={"X-Emulator-Fault": "stall-before"}, timeout=FAST)
    assert emulator.recorder.wait_for_outcome("disconnected").path == MODELS_PATH
    response = http.get(MODELS_PATH, headers={"X-Emulator-Fault": "truncate"})
    assert response.status_code == 400
    assert "only applies to chat completions" in response.json()["error"]["message"]
