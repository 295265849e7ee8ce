"""The gateway's upstream pool: after a burst of streams, once their keep-alive is over, the
gateway holds no idle sockets to Raycast (once about 500 stayed open after 500 streams)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import psutil
import pytest

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.server import GatewaySettings, create_app

pytestmark = pytest.mark.anyio


def upstream_sockets(port: int) -> int:
    return sum(
        1
        for conn in psutil.Process().net_connections("tcp")
        if conn.status == psutil.CONN_ESTABLISHED and conn.raddr and conn.raddr.port == port
    )


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """An emulator of this test's own: the count of sockets to it is the gateway's alone."""
    with EmulatorServer() as server:
        yield server


async def test_no_idle_upstream_sockets_after_a_burst_and_the_keep_alive(
    emulator: EmulatorServer, upstream_options: dict[str, Any]
) -> None:
    options = {**upstream_options, "limits": httpx2.Limits(keepalive_expiry=0.3)}
    app = create_app(GatewaySettings(client_options=options))
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:

            async def ask(i: int) -> str:
                body = {
                    "model": "openai-gpt-4o-mini",
                    "stream": True,
                    "messages": [{"role": "user", "content": f"burst {i} @chunks:5"}],
                }
                response = await http.post("/v1/chat/completions", json=body)
                assert response.status_code == 200
                return response.text

            answers = await asyncio.gather(*[ask(i) for i in range(30)])
            assert all(a.endswith("data: [DONE]\n\n") for a in answers)
            assert upstream_sockets(emulator.port) > 1  # the burst opened several, kept idle
            await asyncio.sleep(0.6)
            assert upstream_sockets(emulator.port) == 0
