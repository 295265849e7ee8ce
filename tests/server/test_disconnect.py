"""The hang-up guard: a client that leaves cancels the work done for it, and nothing else does."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from raycast_ai.server.disconnect import DisconnectMiddleware

pytestmark = pytest.mark.anyio

SCOPE: Scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
BODY: Message = {"type": "http.request", "body": b"{}", "more_body": False}


class Peer:
    """The server side: hands over the body, then reports a disconnect when told to."""

    def __init__(self) -> None:
        self.leave = asyncio.Event()
        self.sent: list[Message] = []
        self.messages = [BODY]

    async def receive(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.leave.set()  # as uvicorn does once the response is complete


async def test_a_hang_up_cancels_the_handler() -> None:
    peer = Peer()
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = asyncio.ensure_future(DisconnectMiddleware(app)(SCOPE, peer.receive, peer.send))
    await asyncio.sleep(0.01)
    peer.leave.set()
    await asyncio.wait_for(task, 1)  # returns normally: nobody is left to answer
    assert seen == [BODY, "cancelled"]
    assert not task.cancelled()


async def test_the_disconnect_after_a_complete_response_cancels_nothing() -> None:
    peer = Peer()
    cleaned = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        await asyncio.sleep(0.02)  # cleanup after the response, e.g. closing upstream
        cleaned.append(True)

    await DisconnectMiddleware(app)(SCOPE, peer.receive, peer.send)
    assert cleaned == [True]


async def test_the_app_still_hears_the_disconnect() -> None:
    peer = Peer()
    heard: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            heard.append((await receive())["type"])
        except asyncio.CancelledError:
            heard.append("cancelled")
            raise

    task = asyncio.ensure_future(DisconnectMiddleware(app)(SCOPE, peer.receive, peer.send))
    await asyncio.sleep(0.01)
    peer.leave.set()
    await asyncio.wait_for(task, 1)
    assert heard in (["http.disconnect"], ["cancelled"])


async def test_other_cancellations_propagate() -> None:
    peer = Peer()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.sleep(30)

    task = asyncio.ensure_future(DisconnectMiddleware(app)(SCOPE, peer.receive, peer.send))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_requests_without_a_body_pass_straight_through() -> None:
    calls = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["method"])

    get = {**SCOPE, "method": "GET"}
    await DisconnectMiddleware(app)(get, Peer().receive, Peer().send)
    assert calls == ["GET"]
