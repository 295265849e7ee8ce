"""The transports under the clients, each through its one entry, `send(Request)`.

`Http1Transport` (the async client's default) is driven with `await transport.send(Request(...))`
against the emulator and against raw servers that misbehave in the ways a connection to Raycast
can: dropped, stalled, cut short, garbled, flooding, compressed, over TLS. Its pool is checked
too: one kept-alive connection reused, `max_connections` waited for, idle connections closed
when their keep-alive expires even if never reused (seen from the server and from the process's
sockets). Then the clients above the transports: the same headers through `Http1Transport` and
through httpx2, the async client's `limits` sizing its pool, trio falling back to httpx2, TLS
verification and where the CA bundle comes from (argument, RAYCAST_CA_BUNDLE, the credentials
file, SSL_CERT_FILE, `verify=False`), and `MockTransport`/`AsyncMockTransport` recording the
exact `Request` and breaking a body in the middle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import http.server
import json
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import psutil
import pytest
import trustme

from raycast_ai import (
    APIConnectionError,
    IncompleteStreamError,
    InvalidRequestError,
    RaycastClient,
)
from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.catalog import models_payload
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.events import TextDelta
from raycast_ai.protocol.request import CHAT_PATH, EXPERIMENTAL, MODELS_PATH, USER_AGENT
from raycast_ai.protocol.signing import signature_v2
from raycast_ai.transport import (
    URL,
    AsyncHttpxTransport,
    AsyncMockTransport,
    AsyncResponse,
    BodyStream,
    Http1Transport,
    MockResponse,
    MockTransport,
    Request,
    Timeout,
    _connection,
    ssl_context,
)

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
TIMEOUT = Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0)
SSE = b'data: {"text":"hi"}\n\ndata: {"text":"","finish_reason":"stop"}\n\n'
CATALOG = json.dumps(models_payload()).encode()
CA_ENV = ("RAYCAST_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture
def upstream_options(emulator: EmulatorServer, tmp_path: Path) -> dict[str, Any]:
    return {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": emulator.base_url,
        "home": tmp_path,
        "max_retries": 0,
    }


class RawServer:
    """A loopback TCP server whose connections `handler` answers; counts them, and counts the
    ones the client hung up on."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.hangups = 0
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.hangups += 1
        else:
            if reader.at_eof():  # the handler read to the end: the client hung up
                self.hangups += 1
        finally:
            writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        finally:
            server.close()
            await server.wait_closed()


@asynccontextmanager
async def served(
    handler: Handler, transport: Http1Transport | None = None
) -> AsyncIterator[tuple[str, RawServer, Http1Transport]]:
    """A raw server answered by `handler`, its base URL, and a transport closed afterwards."""
    server = RawServer(handler)
    transport = transport or Http1Transport()
    async with server.running() as base_url:
        try:
            yield base_url, server, transport
        finally:
            await transport.aclose()


def request(
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    **timeouts: float,
) -> Request:
    timeout = dataclasses.replace(TIMEOUT, **timeouts)
    return Request(method, URL.parse(url), headers or {}, body, timeout)


async def fetch(transport: Http1Transport, req: Request) -> tuple[AsyncResponse, bytes]:
    """Sends `req`, reads the whole body and gives the connection back."""
    response = await transport.send(req)
    try:
        return response, await response.aread()
    finally:
        await response.aclose()


async def keep_answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(OK)


async def text(client: AsyncRaycastClient, prompt: str) -> str:
    stream = await client.stream([{"role": "user", "content": prompt}], "openai-gpt-4o-mini")
    async with stream:
        return "".join([e.text async for e in stream if isinstance(e, TextDelta)])


def sockets(port: int, *, side: str) -> int:
    """This process's ESTABLISHED TCP sockets to `port` (side "client") or accepted on it
    (side "server")."""
    count = 0
    for conn in psutil.Process().net_connections("tcp"):
        if conn.status != psutil.CONN_ESTABLISHED:
            continue
        address = conn.raddr if side == "client" else conn.laddr
        if address and address.port == port:
            count += 1
    return count


async def eventually(check: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# --- Http1Transport.send against the emulator and raw servers --------------------------------


async def test_chats_with_the_emulator_on_one_kept_alive_connection(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    transport = Http1Transport()
    async with AsyncRaycastClient(**upstream_options, transport=transport) as client:
        answers = [await text(client, f"turn {i} @chunks:30") for i in range(3)]
        assert transport.open_connections == 1
        body = emulator.recorder.requests[-1].body
        assert b'"turn 2 @chunks:30"' in body  # the exact bytes reached the server
    assert all(answers) and len(set(answers)) == 3
    assert transport.open_connections == 0  # closing the client closed it


async def test_the_request_is_sent_in_one_piece_with_its_headers() -> None:
    """One write: the server's first read holds the whole request, head and body."""
    reads: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            reads.append(data)
            writer.write(OK)

    async with served(record) as (base_url, server, transport):
        port = server.port
        headers = {"X-Test": "yes"}
        post = request(f"{base_url}/api/x?y=1", "POST", headers, b'{"a":1}')
        response, body = await fetch(transport, post)
        assert (response.status_code, body) == (200, b"ok")
        response, body = await fetch(transport, request(f"{base_url}/models", headers=headers))
        assert (response.status_code, body) == (200, b"ok")
    assert reads == [
        f"POST /api/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Test: yes\r\n"
        'Content-Length: 7\r\n\r\n{"a":1}'.encode(),
        # A GET without a body says no length at all.
        f"GET /models HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Test: yes\r\n\r\n".encode(),
    ]


async def test_send_reuses_one_kept_alive_connection_and_reads_the_last_header_value() -> None:
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head + await reader.readexactly(7))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\nX-A: 2\r\n\r\nhello")

    async with served(answer) as (base_url, server, transport):
        for _ in range(3):
            req = request(f"{base_url}/api/x?y=1", "POST", {"X-Test": "yes"}, b'{"a":1}')
            response, body = await fetch(transport, req)
            assert response.status_code == 200
            assert response.headers["x-a"] == "2"  # lower-case names, the last value
            assert body == b"hello"
            assert (transport.open_connections, transport.idle_connections) == (1, 1)
    assert heads == [heads[0]] * 3 and heads[0].startswith(b"POST /api/x?y=1 HTTP/1.1\r\n")
    assert server.connections == 1


async def test_a_kept_alive_connection_dropped_under_a_request_is_replaced_once() -> None:
    dropped = asyncio.Event()

    async def once_then_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)
        await reader.readuntil(b"\r\n\r\n")  # the second request: hang up without an answer
        dropped.set()

    server_calls = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal server_calls
        server_calls += 1
        await (once_then_drop if server_calls == 1 else keep_answering)(reader, writer)

    async with served(handler) as (base_url, server, transport):
        assert (await fetch(transport, request(f"{base_url}/")))[1] == b"ok"
        assert (await fetch(transport, request(f"{base_url}/")))[1] == b"ok"
    assert dropped.is_set()  # the second request went to the kept-alive connection first
    assert server.connections == 2


async def test_a_new_connection_closed_without_an_answer_is_not_retried() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")

    async with served(hang_up) as (base_url, server, transport):
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
            await transport.send(request(f"{base_url}/chat", "POST", body=b"{}"))
        assert transport.open_connections == 0
    assert server.connections == 1


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with served(keep_answering) as (_, server, _):
        port = server.port
    transport = Http1Transport()
    with pytest.raises(httpx2.ConnectError):
        await transport.send(request(f"http://127.0.0.1:{port}/"))
    assert transport.open_connections == 0


async def test_silence_before_the_answer_is_a_read_timeout_and_the_connection_is_dropped() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with served(silent) as (base_url, server, transport):
        started = time.monotonic()
        with pytest.raises(httpx2.ReadTimeout):
            await transport.send(request(f"{base_url}/", read=0.2))
        assert time.monotonic() - started < 2.0
        assert transport.open_connections == 0
        assert await eventually(lambda: server.hangups == 1)  # the server saw it go


async def test_silence_in_the_middle_of_the_body_is_a_read_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await reader.read()

    async with served(stall) as (base_url, _, transport):
        response = await transport.send(request(f"{base_url}/", read=0.2))
        got = b""
        with pytest.raises(httpx2.ReadTimeout):
            async for data in response.aiter_bytes():
                got += data
        await response.aclose()
        assert got == b"abc"
        assert transport.open_connections == 0


async def test_silence_after_part_of_a_sized_body_is_a_read_timeout() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await reader.read()

    async with served(answer) as (base_url, _, transport):
        response = await transport.send(request(f"{base_url}/", read=0.2))
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"abc"
        with pytest.raises(httpx2.ReadTimeout):
            await anext(chunks)
        await response.aclose()
        assert transport.open_connections == 0


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", "complete response body"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nhalf\r\n", "complete"),
        (b"HTTP/1.1 200 OK\r\ncontent-le", "complete response head"),
        (b"HTCPCP/1.0 418 teapot\r\n\r\n", "malformed HTTP"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "malformed HTTP"),
    ],
)
async def test_a_cut_or_garbled_answer_is_a_protocol_error(answer: bytes, error: str) -> None:
    async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)

    async with served(send) as (base_url, _, transport):
        with pytest.raises(httpx2.RemoteProtocolError, match=error):
            await fetch(transport, request(f"{base_url}/"))
        assert transport.open_connections == 0


async def test_a_body_without_length_ends_with_the_connection() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
        for part in (b"one ", b"two ", b"three"):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.01)

    async with served(until_close) as (base_url, _, transport):
        response = await transport.send(request(f"{base_url}/"))
        chunks = [chunk async for chunk in response.aiter_bytes()]
        await response.aclose()
        assert b"".join(chunks) == b"one two three" and len(chunks) > 1  # as it came
        assert transport.open_connections == 0
        assert transport.idle_connections == 0


async def test_leaving_a_body_unread_closes_the_connection() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"5\r\nchunk\r\n")
            await writer.drain()
            await asyncio.sleep(0.005)

    async with served(endless) as (base_url, server, transport):
        response = await transport.send(request(f"{base_url}/"))
        assert await anext(response.aiter_bytes())
        await response.aclose()
        assert transport.open_connections == 0
        assert transport.idle_connections == 0
        assert await eventually(lambda: server.hangups == 1)
    assert server.connections == 1


async def test_a_flood_is_read_only_as_fast_as_it_is_consumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_connection, "HIGH_WATER", 64 * 1024)
    size = 16 * 1024 * 1024

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        block = b"x" * 65536
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()

    async with served(flood) as (base_url, _, transport):
        response = await transport.send(request(f"{base_url}/"))
        received = 0
        held = 0
        async for data in response.aiter_bytes():
            received += len(data)
            if received < size // 2:
                await asyncio.sleep(0.001)  # a slow reader
                (conn,) = transport._open
                held = max(held, conn.buffered)
        await response.aclose()
        assert received == size
        # One read past the mark at most, never the megabytes the server had ready.
        assert held <= 64 * 1024 + 256 * 1024


async def test_a_kept_alive_connection_expires() -> None:
    transport = Http1Transport(keepalive_expiry=0.0)
    async with served(keep_answering, transport) as (base_url, server, _):
        for _ in range(3):
            assert (await fetch(transport, request(f"{base_url}/")))[1] == b"ok"
            assert transport.idle_connections == 0
    assert server.connections == 3


async def test_idle_connections_close_when_their_keep_alive_expires_even_if_never_reused() -> None:
    """A burst leaves one idle connection per request; none is asked for again, and still each
    is closed once its keep-alive is over: by the transport, seen by the server and the OS."""
    burst = 50
    arrived = 0
    everyone = asyncio.Event()

    async def answer_together(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        await reader.readuntil(b"\r\n\r\n")
        arrived += 1
        if arrived == burst:
            everyone.set()
        await everyone.wait()  # every request is in flight at once: one connection each
        writer.write(OK)
        await reader.readuntil(b"\r\n\r\n")  # nothing more comes: this ends at the hang-up

    transport = Http1Transport(keepalive_expiry=0.3)
    async with served(answer_together, transport) as (base_url, server, _):
        answers = await asyncio.gather(
            *[fetch(transport, request(f"{base_url}/{i}", read=2.0)) for i in range(burst)]
        )
        assert [body for _, body in answers] == [b"ok"] * burst
        assert server.connections == burst
        assert (transport.idle_connections, transport.open_connections) == (burst, burst)
        assert sockets(server.port, side="client") == burst
        await asyncio.sleep(0.1)  # not yet: they are kept for 0.3 s
        assert (transport.idle_connections, transport.open_connections) == (burst, burst)
        assert server.hangups == 0
        await asyncio.sleep(0.4)
        assert (transport.idle_connections, transport.open_connections) == (0, 0)
        assert sockets(server.port, side="client") == 0
        assert await eventually(lambda: server.hangups == burst)


async def test_the_clients_upstream_holds_no_idle_sockets_after_a_burst_of_streams(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    """The gateway's upstream: an `AsyncRaycastClient` whose `limits` set a keep-alive; after a
    burst of streams its idle connections to the emulator close by themselves."""
    limits = httpx2.Limits(keepalive_expiry=0.3)
    async with AsyncRaycastClient(**upstream_options, limits=limits) as client:
        transport = client._transport
        assert isinstance(transport, Http1Transport)
        await client.models()
        answers = await asyncio.gather(*[text(client, f"burst {i} @chunks:5") for i in range(20)])
        assert all(answers)
        idle = transport.idle_connections
        assert idle > 1 and transport.open_connections == idle
        assert sockets(emulator.port, side="client") == idle
        await asyncio.sleep(0.5)
        assert (transport.idle_connections, transport.open_connections) == (0, 0)
        assert sockets(emulator.port, side="client") == 0
        assert await eventually(lambda: sockets(emulator.port, side="server") == 0)


async def test_max_connections_makes_requests_wait_for_a_slot() -> None:
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readuntil(b"\r\n\r\n"):
            await release.wait()
            writer.write(OK)

    transport = Http1Transport(max_connections=1)
    async with served(slow, transport) as (base_url, server, _):
        first = asyncio.ensure_future(fetch(transport, request(f"{base_url}/")))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx2.PoolTimeout):
            await transport.send(request(f"{base_url}/", pool=0.2))
        release.set()
        assert (await first)[1] == b"ok"
        assert (await fetch(transport, request(f"{base_url}/", pool=0.2)))[1] == b"ok"
    assert server.connections == 1  # the slot came back, and the connection with it


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


async def test_https_with_a_trusted_certificate_and_not_without(
    ca: trustme.CA, server_tls: ssl.SSLContext
) -> None:
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    server = RawServer(keep_answering, tls=server_tls)
    async with server.running() as base_url:
        assert base_url.startswith("https://")
        transport = Http1Transport(ssl_context=trusting)
        assert (await fetch(transport, request(f"{base_url}/")))[1] == b"ok"
        await transport.aclose()
        transport = Http1Transport()
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await transport.send(request(f"{base_url}/"))
        assert transport.open_connections == 0


async def test_only_http_and_https(tmp_path: Path) -> None:
    for url in ("ftp://127.0.0.1/", "ws://127.0.0.1/", "127.0.0.1:80", "http:///path"):
        with pytest.raises(ValueError, match="Not an http"):
            URL.parse(url)
    assert str(URL.parse("HTTPS://Example.com:443/a?b=1")) == "https://example.com/a?b=1"
    with pytest.raises(InvalidRequestError, match="http:// or https://"):
        AsyncRaycastClient(token="t", base_url="ftp://127.0.0.1", home=tmp_path)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("br", lambda data: data),  # never asked for: passed on as it came, as httpx2 does
    ],
)
async def test_send_decompresses_what_httpx2_would(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    text = b"data: " + b"x" * 5000 + b"\n\n"
    body = compress(text)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\ncontent-encoding: {encoding}\r\n"
        writer.write(head.encode() + b"content-length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 100):  # in pieces, as a network delivers it
            writer.write(body[i : i + 100])
            await writer.drain()
        await reader.read()

    async with served(answer) as (base_url, _, transport):
        response, got = await fetch(transport, request(f"{base_url}/"))
        assert response.headers["content-encoding"] == encoding
        assert got == text


async def test_send_a_body_that_does_not_decompress_is_a_protocol_error() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 4\r\n\r\nnope")
        await reader.read()

    async with served(answer) as (base_url, _, transport):
        with pytest.raises(httpx2.RemoteProtocolError, match="does not decompress"):
            await fetch(transport, request(f"{base_url}/"))
        assert transport.open_connections == 0


@pytest.mark.parametrize(
    "bad", [{"X-Evil": "a\r\nInjected: 1"}, {"X-A": "a\nb"}, {"X\rY": "1"}, {"X": "\r"}]
)
async def test_a_header_line_break_is_refused_before_anything_is_sent(
    bad: dict[str, str],
) -> None:
    async with served(keep_answering) as (base_url, server, transport):
        with pytest.raises(httpx2.LocalProtocolError, match="line break"):
            await transport.send(request(f"{base_url}/", headers={"X-Fine": "1", **bad}))
        assert transport.open_connections == 0
        assert (await fetch(transport, request(f"{base_url}/", headers={"X-Fine": "1"})))[1]
    assert server.connections == 1  # only the good request connected


# --- the clients over the transports ----------------------------------------------------------


async def test_the_client_sends_what_httpx2_would_send(tmp_path: Path) -> None:
    """The chat stream through `Http1Transport` (the default) and through httpx2 (its own
    transport, and `AsyncHttpxTransport` without a proxy): the same headers, each once."""
    heads: list[list[tuple[str, str]]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode().split("\r\n")[1:-2]
            fields = [tuple(line.split(": ", 1)) for line in lines]
            length = {k.lower(): v for k, v in fields}.get("content-length", "0")
            await reader.readexactly(int(length))
            if head.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(CATALOG))
                writer.write(CATALOG)
                continue
            heads.append(
                [("", head.decode().split("\r\n")[0])] + [(k.lower(), v) for k, v in fields]
            )
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(SSE) + SSE)

    kinds: list[type] = []
    async with RawServer(answer).running() as base_url:
        transports = (
            None,
            httpx2.AsyncHTTPTransport(),
            AsyncHttpxTransport(verify=ssl_context()),
        )
        for transport in transports:
            options = {"token": EMULATOR_TOKEN, "signing_secret": EMULATOR_SECRET}
            async with AsyncRaycastClient(
                **options, base_url=base_url + "/v2", home=tmp_path, transport=transport
            ) as client:
                kinds.append(type(client._transport))
                assert await text(client, "hello") == "hi"
    assert kinds == [Http1Transport, AsyncHttpxTransport, AsyncHttpxTransport]
    assert len(heads) == 3
    fast, *slow = heads
    changing = {"x-raycast-timestamp", "x-raycast-signature-v2", "content-length"}
    for other in slow:
        assert fast[0] == other[0] == ("", "POST /v2/api/v1/ai/chat_completions HTTP/1.1")
        names = [name for name, _ in fast]
        assert len(names) == len(set(names))  # no header twice, whatever its case
        assert {k: v for k, v in fast if k not in changing} == {
            k: v for k, v in other if k not in changing
        }
        assert sorted(names) == sorted(name for name, _ in other)


async def test_the_async_clients_limits_size_its_pool(upstream_options: dict[str, Any]) -> None:
    limits = httpx2.Limits(max_connections=1)
    messages = [{"role": "user", "content": "hello @chunks:3"}]
    async with AsyncRaycastClient(**upstream_options, limits=limits) as client:
        first = await client.stream(messages)
        await anext(aiter(first))  # the one connection is in use until this stream closes

        async def second() -> str:
            stream = await client.stream(messages)
            async with stream:
                return "".join([e.text async for e in stream if isinstance(e, TextDelta)])

        waiting = asyncio.ensure_future(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.aclose()
        assert await asyncio.wait_for(waiting, 5.0)
        transport = client._transport
        assert isinstance(transport, Http1Transport) and transport.open_connections == 1


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_the_client_works_through_httpx2s_own_transport(
    upstream_options: dict[str, Any],
) -> None:
    """The lean transport needs asyncio's loop; under another, it hands requests to httpx2's."""
    async with AsyncRaycastClient(**upstream_options) as client:
        first = await text(client, "under trio @chunks:30")
        second = await text(client, "under trio, again @chunks:30")
        transport = client._transport
        assert isinstance(transport, Http1Transport)
        assert transport._other is not None  # httpx2 carried the requests
        assert transport.open_connections == 0  # and none of its own was opened
    assert first and second and first != second


# --- TLS: verification and the CA bundle --------------------------------------------------------


class HTTPSServer:
    """A threaded HTTPS server that answers like Raycast (the catalog, a short chat stream), so
    that the sync client can block on it inside an async test."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        class Answer(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._send(CATALOG, "application/json")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                self._send(SSE, "text/event-stream")

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.httpd.daemon_threads = True
        self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HTTPSServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def https_server(server_tls: ssl.SSLContext) -> Iterator[HTTPSServer]:
    with HTTPSServer(server_tls) as server:
        yield server


@pytest.fixture
def ca_pem(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


async def chat_with(kind: str, **options: Any) -> str:
    """A short chat through a fresh sync or async client; the client is closed afterwards."""
    options = {"token": "tok", "signing_secret": "s", "max_retries": 0, **options}
    messages = [{"role": "user", "content": "hello"}]
    if kind == "sync":
        with RaycastClient(**options) as client:
            return client.complete(messages).text
    async with AsyncRaycastClient(**options) as client:
        return (await client.complete(messages)).text


@pytest.fixture
def no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_ca_env")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_tls_is_verified_by_default(
    kind: str, https_server: HTTPSServer, tmp_path: Path
) -> None:
    with pytest.raises(APIConnectionError, match="ConnectError") as caught:
        await chat_with(kind, base_url=https_server.base_url, home=tmp_path)
    assert "CERTIFICATE_VERIFY_FAILED" in repr(caught.value.__cause__)


@pytest.mark.usefixtures("no_ca_env")
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize(
    "source", ["argument", "RAYCAST_CA_BUNDLE", "credentials file", "SSL_CERT_FILE", "verify=False"]
)
async def test_tls_trusts_the_configured_ca_bundle_or_verify_false(
    kind: str,
    source: str,
    https_server: HTTPSServer,
    ca_pem: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    options: dict[str, Any] = {"base_url": https_server.base_url, "home": home}
    if source == "argument":
        options["ca_bundle"] = str(ca_pem)
    elif source == "credentials file":
        home.mkdir()
        (home / "credentials.json").write_text(json.dumps({"ca_bundle": str(ca_pem)}))
    elif source == "verify=False":
        options["verify"] = False
    else:
        monkeypatch.setenv(source, str(ca_pem))
    assert await chat_with(kind, **options) == "hi"


@pytest.mark.usefixtures("no_ca_env")
@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("source", ["argument", "RAYCAST_CA_BUNDLE", "SSL_CERT_FILE"])
async def test_a_ca_bundle_that_does_not_exist_is_an_invalid_request_naming_the_variable(
    kind: str, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    options: dict[str, Any] = {"token": "tok", "home": tmp_path}
    if source == "argument":
        options["ca_bundle"] = missing
    else:
        monkeypatch.setenv(source, missing)
    client_class = RaycastClient if kind == "sync" else AsyncRaycastClient
    with pytest.raises(InvalidRequestError, match="RAYCAST_CA_BUNDLE") as caught:
        client_class(**options)
    assert missing in str(caught.value)


# --- MockTransport / AsyncMockTransport ------------------------------------------------------

MOCK_BASE = "http://raycast.test/v1"
MOCK_SECRET = "mock-secret"
MOCK_TIMEOUT = Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)
HELLO = b'data: {"text":"Hello"}\n\n'


def mock_answer(*chunks: bytes | Exception) -> Callable[[Request], MockResponse]:
    """The catalog for a models request, `chunks` as the body of a chat request."""

    def answer(req: Request) -> MockResponse:
        if req.url.target.endswith(MODELS_PATH):
            return MockResponse(headers={"Content-Type": "application/json"}, body=CATALOG)
        return MockResponse(headers={"Content-Type": "text/event-stream"}, chunks=list(chunks))

    return answer


def mock_client(kind: str, answer: Callable[[Request], MockResponse], home: Path) -> Any:
    options: dict[str, Any] = {
        "token": "tok-123",
        "signing_secret": MOCK_SECRET,
        "base_url": MOCK_BASE,
        "home": home,
        "timeout": MOCK_TIMEOUT,
    }
    if kind == "sync":

        def no_sync_sleep(seconds: float) -> None:
            pytest.fail(f"slept {seconds} s: nothing here is retried")

        return RaycastClient(**options, transport=MockTransport(answer), sleep=no_sync_sleep)

    async def answer_later(req: Request) -> MockResponse:
        await asyncio.sleep(0)
        return answer(req)

    async def no_sleep(seconds: float) -> None:
        pytest.fail(f"slept {seconds} s: nothing here is retried")

    return AsyncRaycastClient(**options, transport=AsyncMockTransport(answer_later), sleep=no_sleep)


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_client_over_the_mock_transport_sends_the_exact_request(
    kind: str, tmp_path: Path
) -> None:
    client = mock_client(kind, mock_answer(HELLO, SSE), tmp_path)
    messages = [{"role": "user", "content": "exactly this"}]
    if kind == "sync":
        assert client.complete(messages, "openai-gpt-4o-mini").text == "Hellohi"
        client.close()
    else:
        assert (await client.complete(messages, "openai-gpt-4o-mini")).text == "Hellohi"
        await client.aclose()
    transport = client._transport
    assert isinstance(transport, MockTransport if kind == "sync" else AsyncMockTransport)
    assert transport.closed
    models, chat = transport.requests
    device = client.settings.device_id
    assert device

    def signed(req: Request, body: bytes) -> dict[str, str]:
        stamp = req.headers["X-Raycast-Timestamp"]
        assert abs(int(stamp) - time.time()) < 60
        return {
            "Accept": "application/json",
            "Accept-Language": "en-US,en;q=0.9",
            "User-Agent": USER_AGENT,
            "X-Raycast-Experimental": EXPERIMENTAL,
            "Authorization": "Bearer tok-123",
            "X-Raycast-Timestamp": stamp,
            "X-Raycast-DeviceId": device,
            "X-Raycast-Signature-v2": signature_v2(MOCK_SECRET, stamp, device, body),
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
        }

    assert (models.method, models.url, models.body) == (
        "GET",
        URL("http", "raycast.test", 80, "/v1" + MODELS_PATH),
        b"",
    )
    assert dict(models.headers) == signed(models, b"{}")
    assert models.timeout == MOCK_TIMEOUT
    assert (chat.method, chat.url) == ("POST", URL("http", "raycast.test", 80, "/v1" + CHAT_PATH))
    assert dict(chat.headers) == {"Content-Type": "application/json", **signed(chat, chat.body)}
    assert chat.timeout == MOCK_TIMEOUT
    sent = json.loads(chat.body)
    assert (sent["model"], sent["provider"]) == ("gpt-4o-mini", "openai")
    assert "exactly this" in json.dumps(sent["messages"])


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_mock_body_broken_in_the_middle_is_an_incomplete_stream(
    kind: str, tmp_path: Path
) -> None:
    responses: list[MockResponse] = []
    answer = mock_answer(HELLO, httpx2.ReadError("x"))

    def keep(req: Request) -> MockResponse:
        responses.append(answer(req))
        return responses[-1]

    client = mock_client(kind, keep, tmp_path)
    messages = [{"role": "user", "content": "hi"}]
    events: list[Any] = []
    with pytest.raises(IncompleteStreamError, match="ReadError") as caught:
        if kind == "sync":
            with client, client.stream(messages) as stream:
                for event in stream:
                    events.append(event)
        else:
            async with client, await client.stream(messages) as astream:
                async for event in astream:
                    events.append(event)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello"]  # delivered first
    assert caught.value.partial_text == "Hello"
    assert isinstance(caught.value.__cause__, httpx2.ReadError)
    assert len(client._transport.requests) == 2  # the models list, one chat: not retried
    assert all(response.closed for response in responses)


async def test_a_streamed_body_goes_out_chunk_by_chunk_with_its_length() -> None:
    """An upload's body (`BodyStream`) is sent as its chunks come, with a Content-Length and
    not chunked; each attempt asks for the chunks anew."""
    received: list[tuple[bytes, bytes]] = []
    starts: list[int] = []

    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        received.append((head, await reader.readexactly(length)))
        writer.write(OK)
        await writer.drain()

    def chunks() -> Iterator[bytes]:
        starts.append(1)
        for n in range(40):
            yield bytes([n]) * 65536

    async with served(store) as (base_url, _, transport):
        body = BodyStream(40 * 65536, chunks)
        put = Request("PUT", URL.parse(f"{base_url}/up"), {"Content-MD5": "x"}, body, TIMEOUT)
        for _ in range(2):
            response, answer = await fetch(transport, put)
            assert (response.status_code, answer) == (200, b"ok")
    assert len(starts) == 2
    for head, data in received:
        assert data == b"".join(bytes([n]) * 65536 for n in range(40))
        assert b"content-length: 2621440\r\n" in head.lower()
        assert b"transfer-encoding" not in head.lower() and b"Content-MD5: x" in head
