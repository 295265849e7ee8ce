"""The SSE response on its own: one write a read, backpressure, errors after 200, hang-ups."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from starlette.types import Message, Scope

from raycast_ai.client import AsyncChatStream
from raycast_ai.dialects.openai_chat import ChunkEncoder
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.errors import IncompleteStreamError
from raycast_ai.protocol.events import Event, Finish, TextDelta
from raycast_ai.server.disconnect import DisconnectMiddleware
from raycast_ai.server.streaming import SLICE, EventStreamResponse

pytestmark = pytest.mark.anyio

MODEL = ModelEntry(id="m", model="m", provider="p")
SCOPE: Scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


class Upstream:
    """An event source that records whether it was closed."""

    def __init__(self, events: list[Event], *, gap: float = 0.0, error: Exception | None = None):
        self.events = events
        self.gap = gap
        self.error = error
        self.closed = False
        self.delivered = 0

    async def run(self) -> AsyncIterator[list[Event]]:
        try:
            for event in self.events:
                if self.gap:
                    await asyncio.sleep(self.gap)
                self.delivered += 1
                yield [event]
            if self.error is not None:
                raise self.error
        finally:
            self.closed = True

    def stream(self) -> AsyncChatStream:
        return AsyncChatStream.from_batches(MODEL, self.run())


def response(upstream: Upstream) -> EventStreamResponse:
    encoder = ChunkEncoder("chatcmpl-1", 1, "m", include_usage=False)
    return EventStreamResponse(upstream.stream(), encoder, [])


async def never_disconnect() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def payloads(sent: list[Message]) -> list[str]:
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return [e[len("data: ") :] for e in body.decode().split("\n\n") if e]


async def test_the_events_of_one_read_are_few_writes_of_bounded_size() -> None:
    burst: list[Event] = [TextDelta(f"t{i} ") for i in range(2000)]

    closed: list[bool] = []

    async def reads() -> AsyncIterator[list[Event]]:
        try:
            yield burst
            yield [Finish("stop")]
        finally:
            closed.append(True)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    stream = AsyncChatStream.from_batches(MODEL, reads())
    encoder = ChunkEncoder("chatcmpl-1", 1, "m", include_usage=False)
    await EventStreamResponse(stream, encoder, [])(SCOPE, never_disconnect, send)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    # The role chunk, the burst in slices, then the finish and [DONE] with the end of the body.
    slices = -(-len(burst) // SLICE)
    assert len(bodies) == 2 + slices
    assert [m["more_body"] for m in bodies] == [True] * (1 + slices) + [False]
    assert b'"finish_reason":"stop"' in bodies[-1]["body"]
    assert all(m["body"].count(b"data: ") <= SLICE for m in bodies)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    data = payloads(sent)
    assert data[-1] == "[DONE]"
    text = "".join(json.loads(d)["choices"][0]["delta"].get("content") or "" for d in data[:-1])
    assert text == "".join(f"t{i} " for i in range(2000))
    assert closed


async def test_a_slow_reader_holds_the_upstream_back() -> None:
    upstream = Upstream([TextDelta("x" * 100) for _ in range(5000)] + [Finish("stop")])
    gate = asyncio.Event()
    first_body = asyncio.Event()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            first_body.set()
            await gate.wait()

    task = asyncio.ensure_future(response(upstream)(SCOPE, never_disconnect, send))
    await first_body.wait()
    await asyncio.sleep(0.05)
    # Stuck in the first write: nothing more was read from upstream.
    assert upstream.delivered == 0
    gate.set()
    await asyncio.wait_for(task, 5)
    assert payloads(sent)[-1] == "[DONE]"


async def test_an_error_after_200_is_one_error_event_then_done() -> None:
    broken = IncompleteStreamError("The connection to Raycast broke.", partial_text="a")
    upstream = Upstream([TextDelta("a")], error=broken)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await response(upstream)(SCOPE, never_disconnect, send)
    data = payloads(sent)
    assert data[-1] == "[DONE]"
    error = json.loads(data[-2])["error"]
    assert error["message"] == "The connection to Raycast broke."
    assert error["code"] == "incomplete_stream"
    assert sent[-1]["more_body"] is False  # the response is ended, with [DONE] in its last write
    assert sent[-1]["body"].endswith(b"data: [DONE]\n\n")


async def test_a_finish_goes_out_with_the_end_and_before_an_error_that_follows_it() -> None:
    broken = IncompleteStreamError("The connection to Raycast broke.", partial_text="a")
    upstream = Upstream([TextDelta("a"), Finish("stop")], error=broken)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await response(upstream)(SCOPE, never_disconnect, send)
    last = sent[-1]["body"].decode()
    assert last.index('"finish_reason":"stop"') < last.index('"incomplete_stream"')
    assert last.endswith("data: [DONE]\n\n") and sent[-1]["more_body"] is False
    assert [json.loads(d)["choices"][0]["delta"].get("content") for d in payloads(sent)[1:2]] == [
        "a"
    ]


async def test_a_client_that_hangs_up_closes_the_upstream_at_once() -> None:
    upstream = Upstream([TextDelta("x")] * 1000, gap=0.01)
    hang_up = asyncio.Event()
    sent: list[Message] = []

    request: list[Message] = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> Message:
        if request:
            return request.pop()
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    # As in the app: the middleware notices the hang-up and cancels the response's task.
    app = DisconnectMiddleware(response(upstream))
    task = asyncio.ensure_future(app(SCOPE, receive, send))
    await asyncio.sleep(0.1)
    hang_up.set()
    await asyncio.wait_for(task, 1)
    assert upstream.closed
    assert upstream.delivered < 100
    assert not [m for m in sent if m.get("more_body") is False]


async def test_cancelling_the_response_still_closes_the_upstream() -> None:
    upstream = Upstream([TextDelta("x")] * 1000, gap=0.01)

    async def send(message: Message) -> None:
        pass

    task = asyncio.ensure_future(response(upstream)(SCOPE, never_disconnect, send))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.01)
    assert upstream.closed
