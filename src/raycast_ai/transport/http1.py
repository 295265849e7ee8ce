"""HTTP/1.1 to Raycast on asyncio protocols with a C parser: the async client's transport.

httpx2's default transport (httpcore) parses responses with h11 in pure Python, sends the head
and the body of a request in two writes, and walks a pool's connections on each request: at 500
concurrent streams the async client spent about 2 ms of CPU per stream on it, and spends about
0.25 ms on this one. This one does the wire part the way uvicorn does on the server side: one
`asyncio.Protocol` per connection, `httptools` (llhttp) for the response, one write per request,
a stack of idle kept-alive connections per origin, each closed when its keep-alive expires.

It speaks what the client sends to Raycast: HTTP/1.1 requests with a fixed body over TCP or
TLS, no proxy (a configured proxy takes `AsyncHttpxTransport`), no cookies. A streamed body
(an attachment's upload) goes through httpx2, which waits for the socket between chunks; so
does every request under an event loop other than asyncio's (trio, through anyio). Responses
stream with backpressure: reading from the socket pauses while 256 KiB wait unread.

A request whose kept-alive connection turns out to be closed before any byte of an answer is
sent once more on a new connection: that is the race of reusing a connection just as the server
drops it, and the request never reached Raycast's application. Nothing else is retried here.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from collections.abc import AsyncIterator
from ssl import SSLContext

import httpx2
import sniffio

from ._connection import Connection, Dropped
from .base import AsyncResponse, Request
from .httpx import AsyncHttpxTransport

log = logging.getLogger("raycast_ai.transport")

# Shorter than the common 5 s server keep-alive, so an idle connection is dropped by us before
# the server closes it under a request that was just sent on it.
KEEPALIVE_EXPIRY = 4.0
_Origin = tuple[str, str, int]


class Http1Transport:
    """`max_connections` caps the connections open at once (None: no cap); a request waits up
    to its pool timeout for one. Up to `max_keepalive_connections` idle ones are kept, each for
    `keepalive_expiry` seconds, then closed whether or not another request came."""

    def __init__(
        self,
        *,
        ssl_context: SSLContext | None = None,
        max_connections: int | None = None,
        max_keepalive_connections: int = 512,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        self._ssl = ssl_context or httpx2.create_ssl_context(trust_env=False)
        self._idle: dict[_Origin, deque[Connection]] = {}
        self._idle_count = 0
        self._max_idle = max_keepalive_connections
        self._expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None
        self._open: set[Connection] = set()
        self._max_connections = max_connections
        self._other: AsyncHttpxTransport | None = None

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self._open if c.open)

    @property
    def idle_connections(self) -> int:
        return self._idle_count

    async def send(self, request: Request) -> AsyncResponse:
        """Sends `request` (plus Host and, with a body, Content-Length); returns once the
        response head has arrived. Close the response (`aclose`) to give the connection back."""
        body = request.body
        if not _on_asyncio() or not isinstance(body, bytes):
            return await self._httpx2().send(request)
        url, timeout = request.url, request.timeout
        headers = request.headers
        fields = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        # Each field brings one CR and one LF: any more would be a line break inside one.
        if fields.count("\r") != len(headers) or fields.count("\n") != len(headers):
            raise httpx2.LocalProtocolError("A header holds a line break.")
        length = b"Content-Length: %d\r\n" % len(body) if body or request.method != "GET" else b""
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n" % (
            request.method.encode("ascii"),
            url.target.encode("ascii"),
            url.netloc.encode("idna"),
            fields.encode("ascii"),
            length,
        )
        origin = (url.scheme, url.host, url.port)
        conn = await self._send(origin, head + body, timeout.connect, timeout.read, timeout.pool)
        return StreamedResponse(conn.status, conn.headers, _Body(self, conn, timeout.read))

    async def _send(
        self,
        origin: _Origin,
        payload: bytes,
        connect: float | None,
        read: float | None,
        pool: float | None,
    ) -> Connection:
        """Sends the request; returns its connection once the response head is in."""
        if self._slots is not None:
            await self._acquire(pool)
        try:
            conn = self._checkout(origin)
            if conn is not None:
                try:
                    await self._exchange(conn, payload, read)
                except Dropped:
                    log.debug("kept-alive connection dropped before an answer; sending once more")
                    conn = None
            if conn is None:
                conn = await self._connect(origin, connect)
                try:
                    await self._exchange(conn, payload, read)
                except Dropped:
                    raise httpx2.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    ) from None
        except BaseException:
            self._release()
            raise
        return conn

    async def _acquire(self, timeout: float | None) -> None:
        assert self._slots is not None
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx2.PoolTimeout("No free connection to Raycast in time.") from None

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    def _checkout(self, origin: _Origin) -> Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.expiry is not None:
                conn.expiry.cancel()
                conn.expiry = None
            if conn.open:
                conn.reset()
                return conn
            self._discard(conn)
        return None

    async def _connect(self, origin: _Origin, timeout: float | None) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._ssl if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop, origin),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                )
        except TimeoutError:
            raise httpx2.ConnectTimeout(f"Connecting to {host}:{port} timed out.") from None
        except OSError as exc:  # includes refused, unreachable, DNS and TLS failures
            raise httpx2.ConnectError(str(exc) or type(exc).__name__) from exc
        self._open.add(conn)
        log.debug("connected to %s:%d", host, port)
        return conn

    async def _exchange(self, conn: Connection, payload: bytes, timeout: float | None) -> None:
        """Sends the request and waits for the response head."""
        conn.active = True
        assert conn.transport is not None
        # Never the head itself: it holds the token.
        log.debug("sent %d bytes to %s:%d", len(payload), conn.origin[1], conn.origin[2])
        try:
            conn.transport.write(payload)
            while not conn.head_done:
                if conn.error is not None or conn.closed:
                    if not conn.received and not isinstance(conn.error, httpx2.RemoteProtocolError):
                        raise Dropped
                    raise conn.error or httpx2.RemoteProtocolError(
                        "Server disconnected without sending a complete response head."
                    )
                await conn.wait(timeout)
        except TimeoutError:
            self._discard(conn)
            raise httpx2.ReadTimeout("Raycast did not answer in time.") from None
        except BaseException:
            self._discard(conn)
            raise
        log.debug("answer %d from %s:%d", conn.status, conn.origin[1], conn.origin[2])

    def _discard(self, conn: Connection) -> None:
        conn.close()
        self._open.discard(conn)

    def _finish(self, conn: Connection) -> bool:
        """The response is over, read or not: keep the connection if it can serve another.
        False when it was closed instead."""
        self._release()
        conn.active = False
        if conn.reusable and self._idle_count < self._max_idle and self._expiry > 0:
            self._idle.setdefault(conn.origin, deque()).append(conn)
            self._idle_count += 1
            conn.expiry = conn.loop.call_later(self._expiry, self._expire, conn)
            return True
        self._discard(conn)
        return False

    def _expire(self, conn: Connection) -> None:
        """An idle connection's keep-alive is over: close it, reused or not."""
        conn.expiry = None
        idle = self._idle.get(conn.origin)
        if idle is not None and conn in idle:
            idle.remove(conn)
            self._idle_count -= 1
            if not idle:
                del self._idle[conn.origin]
        self._discard(conn)

    def _httpx2(self) -> AsyncHttpxTransport:
        """httpx2, with the same limits: this one's protocols need asyncio's loop, and the
        client may run under another (trio, through anyio)."""
        if self._other is None:
            limits = httpx2.Limits(
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_idle,
                keepalive_expiry=self._expiry,
            )
            self._other = AsyncHttpxTransport(verify=self._ssl, limits=limits)
        return self._other

    async def aclose(self) -> None:
        closing = list(self._open)
        for conn in closing:
            conn.close(abort=True)
        self._open.clear()
        self._idle.clear()
        self._idle_count = 0
        if self._other is not None:
            await self._other.aclose()
        if closing:
            await _closed()


class _Body:
    __slots__ = ("_conn", "_done", "_timeout", "_transport")

    def __init__(self, transport: Http1Transport, conn: Connection, timeout: float | None):
        self._transport = transport
        self._conn = conn
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            if conn.chunks:
                yield conn.take()
            elif conn.complete:
                return
            elif conn.error is not None:
                raise conn.error
            elif conn.closed:
                if conn.until_close:
                    conn.complete = True
                    return
                raise httpx2.RemoteProtocolError(
                    "Server disconnected without sending the complete response body."
                )
            else:
                try:
                    await conn.wait(self._timeout)
                except TimeoutError:
                    raise httpx2.ReadTimeout("Raycast stopped sending.") from None

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            if not self._transport._finish(self._conn):
                await _closed()


async def _closed() -> None:
    """asyncio closes a socket on the loop's next turn: take it, so that when `aclose` returns
    the server can already see the hang-up (as with httpx2's own transport)."""
    await asyncio.sleep(0)


class StreamedResponse:
    """A response head and its body as it arrives: what the client reads of a chat stream."""

    __slots__ = ("_body", "_raw_headers", "status_code")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: _Body) -> None:
        self.status_code = status
        self._raw_headers = headers
        self._body = body

    @property
    def headers(self) -> dict[str, str]:
        """Names in lower case; a repeated header keeps its last value."""
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self._raw_headers}

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body, decompressed when it came gzip- or deflate-encoded."""
        encodings = [
            e.strip().lower()
            for name, value in self._raw_headers
            if name.lower() == b"content-encoding"
            for e in value.split(b",")
        ]
        encodings = [e for e in encodings if e in _DECOMPRESS]
        if not encodings:
            return self._body.__aiter__()
        return _decompressed(self, encodings)

    def _broken(self) -> None:
        """What came cannot be trusted: the connection is not given back to the pool."""
        self._body._conn.keep_alive = False

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        await self._body.aclose()


# Those that httpx2's client asks for (its default Accept-Encoding); others pass as they came.
_DECOMPRESS = {b"gzip": 16 + zlib.MAX_WBITS, b"deflate": zlib.MAX_WBITS}


async def _decompressed(response: StreamedResponse, encodings: list[bytes]) -> AsyncIterator[bytes]:
    decoders = [zlib.decompressobj(_DECOMPRESS[e]) for e in reversed(encodings)]
    try:
        async for chunk in response._body:
            for decoder in decoders:
                chunk = decoder.decompress(chunk)
            if chunk:
                yield chunk
        tail = b""
        for decoder in decoders:
            tail = decoder.decompress(tail) + decoder.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        response._broken()
        message = f"Raycast sent a body that does not decompress: {exc}"
        raise httpx2.RemoteProtocolError(message) from None


def _on_asyncio() -> bool:
    try:
        return sniffio.current_async_library() == "asyncio"
    except sniffio.AsyncLibraryNotFoundError:
        return False
