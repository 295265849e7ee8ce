"""The gateway's upstream transport: pools in turn, and one more try after a dropped connection."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.events import TextDelta
from raycast_ai.server.upstream import ShardedTransport

pytestmark = pytest.mark.anyio


def test_limits_are_split_between_the_pools() -> None:
    transport = ShardedTransport(4, max_connections=10, max_keepalive_connections=8)
    assert len(transport.pools) == 4
    pool = transport.pools[0]._pool  # httpcore's pool behind httpx2's transport
    assert pool._max_connections == 3
    assert pool._max_keepalive_connections == 2


async def text(client: AsyncRaycastClient, prompt: str) -> str:
    stream = await client.stream([{"role": "user", "content": prompt}], "openai-gpt-4o-mini")
    async with stream:
        return "".join([e.text async for e in stream if isinstance(e, TextDelta)])


@pytest.fixture
async def client(upstream_options: dict[str, Any]) -> Any:
    async with AsyncRaycastClient(**upstream_options, transport=ShardedTransport(3)) as client:
        yield client


async def test_requests_take_the_pools_in_turn(
    client: AsyncRaycastClient, emulator: EmulatorServer
) -> None:
    for i in range(6):
        assert await text(client, f"turn {i} @chunks:2")
    transport = client._http._transport
    assert isinstance(transport, ShardedTransport)
    assert all(len(p._pool.connections) == 1 for p in transport.pools)  # type: ignore[attr-defined]


class DroppingServer:
    """A raw HTTP server that closes the first `drops` connections without answering."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.connections <= self.drops:
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_connection_dropped_before_the_answer_is_tried_once_more() -> None:
    server = DroppingServer(drops=1)
    async with (
        server as base_url,
        httpx2.AsyncClient(transport=ShardedTransport(2), base_url=base_url) as http,
    ):
        response = await http.post("/chat", content=b"{}")
    assert response.text == "ok"
    assert server.connections == 2


async def test_only_once() -> None:
    server = DroppingServer(drops=5)
    async with (
        server as base_url,
        httpx2.AsyncClient(transport=ShardedTransport(2), base_url=base_url) as http,
    ):
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.post("/chat", content=b"{}")
    assert server.connections == 2


async def test_closing_closes_every_pool(upstream_options: dict[str, Any], tmp_path: Path) -> None:
    transport = ShardedTransport(2)
    async with AsyncRaycastClient(**upstream_options, transport=transport) as client:
        await text(client, "x @chunks:1")
    assert all(p._pool.connections == [] for p in transport.pools)  # type: ignore[attr-defined]
