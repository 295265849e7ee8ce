"""One HTTP/1.1 connection of `Http1Transport`: an `asyncio.Protocol` that parses the answer
with httptools (llhttp) and pauses reading while 256 KiB wait unread."""

from __future__ import annotations

import asyncio
from typing import cast

import httptools
import httpx2

HIGH_WATER = 256 * 1024
_Origin = tuple[str, str, int]


class Dropped(Exception):
    """The connection ended before any byte of the answer: safe to send again on another."""


class Connection(asyncio.Protocol):
    """One connection and the response being read on it; httptools calls the `on_*` methods."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.expiry: asyncio.TimerHandle | None = None
        self.active = False
        self.reset()

    def reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.keep_alive = False
        self.complete = False
        self.until_close = False
        self.received = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.paused = False
        self.closed = False
        self.error: httpx2.TransportError | None = None
        self.waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if not self.active:  # nothing is owed on an idle connection: it cannot be reused
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(httpx2.RemoteProtocolError(f"Raycast sent malformed HTTP: {exc}"))
            return
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        self.closed = True
        self.wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is not None and self.error is None:
            self.error = httpx2.ReadError(str(exc) or type(exc).__name__)
        self.wake()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.head_done = True
        self.keep_alive = self.parser.should_keep_alive()  # llhttp forgets it once the body ends
        names = {name.lower() for name, _ in self.headers}
        self.until_close = b"content-length" not in names and b"transfer-encoding" not in names

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        self.complete = True

    # used by the transport

    @property
    def open(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    @property
    def reusable(self) -> bool:
        return self.complete and not self.chunks and self.open and self.keep_alive

    def fail(self, error: httpx2.TransportError) -> None:
        self.error = self.error or error
        self.close()
        self.wake()

    def close(self, *, abort: bool = False) -> None:
        self.closed = True
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        if self.transport is not None:
            # A TLS close waits for the peer's close_notify, which a pool being shut down (its
            # loop perhaps about to end) has no reason to wait for.
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Until something arrives or the connection ends; TimeoutError after `timeout`."""
        waiter = self.waiter = self.loop.create_future()
        timer = None if timeout is None else self.loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def take(self) -> bytes:
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
