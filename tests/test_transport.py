"""The async client's HTTP/1.1 transport, against the emulator and against raw servers that
misbehave in the ways a connection to Raycast can: dropped, stalled, cut short, garbled, flooding.
Both of its entries: httpx2's `handle_async_request` and the chat stream's `post`."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import trustme

from raycast_ai import transport as upstream
from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.catalog import models_payload
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.events import TextDelta
from raycast_ai.transport import Http1Transport

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the transport is asyncio's protocols, as under uvicorn


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
    """A loopback TCP server whose connections `handler` answers; counts them."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"{'https' if self.tls else 'http'}://localhost:{port}"
        finally:
            server.close()
            await server.wait_closed()


@asynccontextmanager
async def served(
    handler: Handler, transport: Http1Transport | None = None, **timeouts: float
) -> AsyncIterator[tuple[httpx2.AsyncClient, RawServer, Http1Transport]]:
    server = RawServer(handler)
    transport = transport or Http1Transport()
    timeout = httpx2.Timeout(**{"timeout": 5.0, **timeouts})
    async with (
        server.running() as base_url,
        httpx2.AsyncClient(transport=transport, base_url=base_url, timeout=timeout) as http,
    ):
        yield http, server, transport


async def keep_answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(OK)


async def text(client: AsyncRaycastClient, prompt: str) -> str:
    stream = await client.stream([{"role": "user", "content": prompt}], "openai-gpt-4o-mini")
    async with stream:
        return "".join([e.text async for e in stream if isinstance(e, TextDelta)])


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
    received: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n") + await reader.readexactly(7))
        writer.write(OK)

    async with served(record) as (http, _, _):
        response = await http.post("/api/x?y=1", content=b'{"a":1}', headers={"X-Test": "yes"})
    assert response.status_code == 200 and response.text == "ok"
    head, _, body = received[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /api/x?y=1 HTTP/1.1"
    assert b"x-test: yes" in [line.lower() for line in lines]
    assert b"content-length: 7" in [line.lower() for line in lines]
    assert body == b'{"a":1}'


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

    async with served(handler) as (http, server, _):
        assert (await http.get("/")).text == "ok"
        assert (await http.get("/")).text == "ok"
    assert dropped.is_set()  # the second request went to the kept-alive connection first
    assert server.connections == 2


async def test_a_new_connection_closed_without_an_answer_is_not_retried() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")

    async with served(hang_up) as (http, server, transport):
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
            await http.post("/chat", content=b"{}")
        assert transport.open_connections == 0
    assert server.connections == 1


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with served(keep_answering) as (http, _, _):
        port = int(str(http.base_url).rsplit(":", 1)[1].rstrip("/"))
    async with httpx2.AsyncClient(transport=Http1Transport()) as http:
        with pytest.raises(httpx2.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_silence_before_the_answer_is_a_read_timeout_and_the_connection_is_dropped() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with served(silent, read=0.2) as (http, _, transport):
        with pytest.raises(httpx2.ReadTimeout):
            await http.get("/")
        assert transport.open_connections == 0


async def test_silence_in_the_middle_of_the_body_is_a_read_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await reader.read()

    async with served(stall, read=0.2) as (http, _, transport):
        async with http.stream("GET", "/") as response:
            got = b""
            with pytest.raises(httpx2.ReadTimeout):
                async for data in response.aiter_bytes():
                    got += data
        assert got == b"abc"
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

    async with served(send) as (http, _, transport):
        with pytest.raises(httpx2.RemoteProtocolError, match=error):
            await http.get("/")
        assert transport.open_connections == 0


async def test_a_body_without_length_ends_with_the_connection() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
        for part in (b"one ", b"two ", b"three"):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.01)

    async with served(until_close) as (http, _, transport):
        response = await http.get("/")
        assert response.text == "one two three"
        assert transport.open_connections == 0


async def test_leaving_a_body_unread_closes_the_connection() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"5\r\nchunk\r\n")
            await writer.drain()
            await asyncio.sleep(0.005)

    async with served(endless) as (http, server, transport):
        async with http.stream("GET", "/") as response:
            async for _ in response.aiter_bytes():
                break
        assert transport.open_connections == 0
    assert server.connections == 1


async def test_a_flood_is_read_only_as_fast_as_it_is_consumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(upstream, "HIGH_WATER", 64 * 1024)
    size = 16 * 1024 * 1024

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        block = b"x" * 65536
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()

    async with served(flood) as (http, _, transport):
        async with http.stream("GET", "/") as response:
            received = 0
            held = 0
            async for data in response.aiter_raw():
                received += len(data)
                if received < size // 2:
                    await asyncio.sleep(0.001)  # a slow reader
                    (conn,) = transport._open
                    held = max(held, conn.buffered)
        assert received == size
        # One read past the mark at most, never the megabytes the server had ready.
        assert held <= 64 * 1024 + 256 * 1024


async def test_a_kept_alive_connection_expires() -> None:
    async with served(keep_answering, Http1Transport(keepalive_expiry=0.0)) as (http, server, _):
        for _ in range(3):
            assert (await http.get("/")).text == "ok"
    assert server.connections == 3


async def test_max_connections_makes_requests_wait_for_a_slot() -> None:
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readuntil(b"\r\n\r\n"):
            await release.wait()
            writer.write(OK)

    transport = Http1Transport(max_connections=1)
    async with served(slow, transport, pool=0.2) as (http, _, _):
        first = asyncio.ensure_future(http.get("/"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx2.PoolTimeout):
            await http.get("/")
        release.set()
        assert (await first).text == "ok"
        assert (await http.get("/")).text == "ok"  # the slot came back


async def test_https_with_a_trusted_certificate_and_not_without(tmp_path: Any) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_tls)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    server = RawServer(keep_answering, tls=server_tls)
    async with server.running() as base_url:
        async with httpx2.AsyncClient(transport=Http1Transport(ssl_context=trusting)) as http:
            assert (await http.get(f"{base_url}/")).text == "ok"
        async with httpx2.AsyncClient(transport=Http1Transport()) as http:
            with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"{base_url}/")


async def test_only_http_and_https() -> None:
    async with httpx2.AsyncClient(transport=Http1Transport()) as http:
        with pytest.raises(httpx2.UnsupportedProtocol):
            await http.get("ftp://127.0.0.1/")


# --- post(): the chat stream's path, without httpx2's request and response objects ---------------

TIMEOUT = httpx2.Timeout(5.0)


@asynccontextmanager
async def posting(handler: Handler) -> AsyncIterator[tuple[Http1Transport, httpx2.URL]]:
    """A transport and the URL of a raw server that `handler` answers; closed afterwards."""
    async with RawServer(handler).running() as base_url:
        transport = Http1Transport()
        try:
            yield transport, httpx2.URL(base_url + "/")
        finally:
            await transport.aclose()


async def test_post_sends_one_piece_with_host_and_length_and_reuses_the_connection() -> None:
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head + await reader.readexactly(7))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\nX-A: 2\r\n\r\nhello")

    server = RawServer(answer)
    transport = Http1Transport()
    async with server.running() as base_url:
        url = httpx2.URL(f"{base_url}/api/x?y=1")
        for _ in range(2):
            response = await transport.post(url, {"X-Test": "yes"}, b'{"a":1}', TIMEOUT)
            assert response.status_code == 200
            assert response.headers["x-a"] == "2"  # lower-case names, the last value
            assert await response.aread() == b"hello"
            await response.aclose()
        await transport.aclose()
    host = url.netloc.decode()
    assert (
        heads
        == [
            f"POST /api/x?y=1 HTTP/1.1\r\nHost: {host}\r\nX-Test: yes\r\n"
            'Content-Length: 7\r\n\r\n{"a":1}'.encode()
        ]
        * 2
    )
    assert server.connections == 1


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("br", lambda data: data),  # never asked for: passed on as it came, as httpx2 does
    ],
)
async def test_post_decompresses_what_httpx2_would(
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

    async with posting(answer) as (transport, url):
        response = await transport.post(url, {}, b"", TIMEOUT)
        assert b"".join([chunk async for chunk in response.aiter_bytes()]) == text
        await response.aclose()


async def test_post_a_body_that_does_not_decompress_is_a_protocol_error() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 4\r\n\r\nnope")
        await reader.read()

    async with posting(answer) as (transport, url):
        response = await transport.post(url, {}, b"", TIMEOUT)
        with pytest.raises(httpx2.RemoteProtocolError, match="does not decompress"):
            await response.aread()
        await response.aclose()


async def test_post_silence_in_the_body_is_a_read_timeout_and_a_header_break_is_refused() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await reader.read()

    async with posting(answer) as (transport, url):
        response = await transport.post(url, {}, b"", httpx2.Timeout(5.0, read=0.2))
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"abc"
        with pytest.raises(httpx2.ReadTimeout):
            await anext(chunks)
        await response.aclose()
        for bad in ({"X-Evil": "a\r\nInjected: 1"}, {"X-A": "a\nb"}, {"X\rY": "1"}, {"X": "\r"}):
            with pytest.raises(httpx2.LocalProtocolError, match="line break"):
                await transport.post(url, {"X-Fine": "1", **bad}, b"", TIMEOUT)
    assert transport.open_connections == 0


async def test_the_client_sends_what_httpx2_would_send(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """The chat stream through `post` and through httpx2: the same headers, each once."""
    heads: list[list[tuple[str, str]]] = []
    catalog = json.dumps(models_payload()).encode()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode().split("\r\n")[1:-2]
            fields = [tuple(line.split(": ", 1)) for line in lines]
            length = {k.lower(): v for k, v in fields}.get("content-length", "0")
            await reader.readexactly(int(length))
            if head.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(catalog))
                writer.write(catalog)
                continue
            heads.append(
                [("", head.decode().split("\r\n")[0])] + [(k.lower(), v) for k, v in fields]
            )
            sse = b'data: {"text":"hi"}\n\ndata: {"text":"","finish_reason":"stop"}\n\n'
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(sse) + sse)

    async with RawServer(answer).running() as base_url:
        for transport in (Http1Transport(), None):
            options = {"token": EMULATOR_TOKEN, "signing_secret": EMULATOR_SECRET}
            async with AsyncRaycastClient(
                **options, base_url=base_url + "/v2", home=tmp_path, transport=transport
            ) as client:
                assert await text(client, "hello") == "hi"
    fast, slow = heads
    assert fast[0] == slow[0] == ("", "POST /v2/api/v1/ai/chat_completions HTTP/1.1")
    names = [name for name, _ in fast]
    assert len(names) == len(set(names))  # no header twice, whatever its case
    changing = {"x-raycast-timestamp", "x-raycast-signature-v2", "content-length"}
    assert {k: v for k, v in fast if k not in changing} == {
        k: v for k, v in slow if k not in changing
    }
    assert sorted(names) == sorted(name for name, _ in slow)


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


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_the_client_works_through_httpx2s_own_transport(
    upstream_options: dict[str, Any],
) -> None:
    """The lean transport needs asyncio's loop; under another, it hands requests to httpx2's."""
    async with AsyncRaycastClient(**upstream_options) as client:
        first = await text(client, "under trio @chunks:30")
        second = await text(client, "under trio, again @chunks:30")
    assert first and second and first != second
