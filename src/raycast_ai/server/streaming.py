"""The Server-Sent-Events response of a streamed chat completion, as a raw ASGI callable.

A producer task reads upstream events into a small buffer while the response writes whatever has
gathered in one `send`: a burst of events costs one write, not one per token. The buffer is
bounded, so a slow reader slows the upstream read instead of growing memory. A client that goes
away cancels the producer, which closes the upstream response at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from raycast_ai.client import AsyncChatStream
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event, Notice

from .convert import ChunkEncoder
from .errors import error_info

log = logging.getLogger("raycast_ai.server")

HIGH_WATER = 64 * 1024


class _Buffer:
    __slots__ = ("closed", "done", "drained", "frames", "ready", "size")

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.size = 0
        self.done = False
        self.closed = False
        self.ready = asyncio.Event()
        self.drained = asyncio.Event()

    def push(self, frame: str) -> None:
        self.frames.append(frame)
        self.size += len(frame)
        if not self.ready.is_set():
            self.ready.set()

    def take(self) -> bytes:
        data = "".join(self.frames).encode()
        self.frames.clear()
        self.size = 0
        self.ready.clear()
        self.drained.set()
        return data


class EventStreamResponse(Response):
    """Status 200 is already decided: the first upstream events arrived without an error."""

    media_type = "text/event-stream"

    def __init__(
        self,
        stream: AsyncChatStream,
        encoder: ChunkEncoder,
        first: Sequence[Event],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self._stream = stream
        self._encoder = encoder
        self._first = first
        self.init_headers(
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "x-accel-buffering": "no",
                **(headers or {}),
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        buffer = _Buffer()
        encoder = self._encoder
        buffer.push(encoder.start())
        last = len(self._first) - 1
        for i, event in enumerate(self._first):
            if i < last and isinstance(event, Notice):
                continue  # pings before the first token keep nothing alive: data follows now
            frame = encoder.event(event)
            if frame is not None:
                buffer.push(frame)
        producer = asyncio.ensure_future(self._produce(buffer))
        watcher = asyncio.ensure_future(_watch_disconnect(receive, buffer, producer))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            while True:
                if buffer.frames:
                    await send(
                        {"type": "http.response.body", "body": buffer.take(), "more_body": True}
                    )
                elif buffer.done or buffer.closed:
                    break
                else:
                    await buffer.ready.wait()
            if not buffer.closed:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            if producer.done():
                await _close(producer, self._stream)  # nothing left that could suspend
            else:
                producer.cancel()
                # Shielded: even when this task is cancelled, the upstream must be closed.
                await asyncio.shield(_close(producer, self._stream))

    async def _produce(self, buffer: _Buffer) -> None:
        encoder = self._encoder
        encode, push = encoder.event, buffer.push
        try:
            async for batch in self._stream.batches():
                frames = [frame for frame in map(encode, batch) if frame is not None]
                if frames:
                    push("".join(frames))
                    if buffer.size > HIGH_WATER:
                        buffer.drained.clear()
                        await buffer.drained.wait()
            if encoder.rerouted:
                log.info("Raycast rerouted the request: %s", encoder.rerouted)
            push(encoder.end())
        except RaycastError as exc:
            info = error_info(exc)
            log.warning("stream failed after 200: %s (%s)", type(exc).__name__, info.code)
            push(encoder.error(info))
        except Exception:
            log.exception("stream failed after 200")
            push(encoder.error(error_info(RaycastError("The gateway failed mid-stream."))))
        finally:
            buffer.done = True
            buffer.ready.set()


async def _watch_disconnect(
    receive: Receive, buffer: _Buffer, producer: asyncio.Future[None]
) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
    if not buffer.done:
        log.info("client went away mid-stream; closing the upstream request")
        buffer.closed = True
        producer.cancel()
        buffer.ready.set()


async def _close(producer: asyncio.Future[None], stream: AsyncChatStream) -> None:
    with contextlib.suppress(BaseException):
        await producer
    try:
        await stream.aclose()
    except Exception:
        log.debug("closing the upstream stream failed", exc_info=True)
