"""Fixtures: the gateway in-process or under uvicorn, over the emulator (tests/conftest.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from starlette.applications import Starlette

from chaos import Gateway
from raycast_ai.client import AsyncRaycastClient, Timeout
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.store.cooldowns import MemoryCooldowns

# Short enough for the stall tests (their stalls last 5 s), long enough for every paced answer
# the tests ask for on a loaded machine (at 0.5 s, a busy machine timed some out).
UPSTREAM_TIMEOUT = Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAYCAST_AI_API_KEYS", raising=False)


# The session's gateways: each test starts with no account cooling down, whatever 429 or quota
# error an earlier test had the emulator answer (the gateway then refuses requests for a while).
_SESSION_APPS: list[Starlette] = []


@pytest.fixture(autouse=True)
def _no_cooldowns() -> Iterator[None]:
    yield
    for app in _SESSION_APPS:
        app.state.cooldowns = MemoryCooldowns()


def _session_app(settings: GatewaySettings) -> Starlette:
    app = create_app(settings)
    _SESSION_APPS.append(app)
    return app


@pytest.fixture(scope="session")
def gateway_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-home")


def client_options(emulator: EmulatorServer, home: Path, **changes: Any) -> dict[str, Any]:
    return {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": emulator.base_url,
        "home": home,
        "timeout": UPSTREAM_TIMEOUT,
        "max_retries": 0,
        **changes,
    }


@pytest.fixture
def upstream_options(emulator: EmulatorServer, tmp_path: Path) -> dict[str, Any]:
    """`AsyncRaycastClient` options pointing at the emulator."""
    return client_options(emulator, tmp_path)


@pytest.fixture
async def upstream(upstream_options: dict[str, Any]) -> AsyncIterator[AsyncRaycastClient]:
    async with AsyncRaycastClient(**upstream_options) as client:
        yield client


@dataclass(frozen=True)
class GatewayAt:
    """Where an SDK finds the gateway: `http_client` None means the SDK's own, over a loopback
    socket to uvicorn; else an in-process ASGI client."""

    base_url: str
    http_client: httpx2.AsyncClient | None


@pytest.fixture(params=["in-process", "uvicorn"])
async def gateway_at(
    request: pytest.FixtureRequest, upstream_options: dict[str, Any], gateway: Gateway
) -> AsyncIterator[GatewayAt]:
    """The gateway over the emulator, in-process or under uvicorn: each SDK test runs on both."""
    if request.param == "uvicorn":
        yield GatewayAt(gateway.base_url, None)
        return
    async with AsyncRaycastClient(**upstream_options) as upstream:
        transport = httpx2.ASGITransport(create_app(GatewaySettings(), client=upstream))
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield GatewayAt("http://gateway", http)


@pytest.fixture
async def client(gateway_at: GatewayAt) -> AsyncIterator[openai.AsyncOpenAI]:
    """The official async openai client, talking to the gateway in-process or over a loopback
    socket (test_anthropic.py has the anthropic one under the same name)."""
    async with openai.AsyncOpenAI(
        api_key="unused",
        base_url=gateway_at.base_url + "/v1",
        http_client=gateway_at.http_client,
        max_retries=0,
    ) as sdk:
        yield sdk


@pytest.fixture
def app(upstream: AsyncRaycastClient) -> Starlette:
    return create_app(GatewaySettings(), client=upstream)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
def aopenai(http: httpx2.AsyncClient) -> openai.AsyncOpenAI:
    """The official async client, talking to the gateway in-process."""
    return openai.AsyncOpenAI(
        api_key="unused", base_url="http://gateway/v1", http_client=http, max_retries=0
    )


@pytest.fixture(scope="session")
def gateway(emulator: EmulatorServer, gateway_home: Path) -> Iterator[Gateway]:
    logging.getLogger("raycast_ai").setLevel(logging.WARNING)
    settings = GatewaySettings(client_options=client_options(emulator, gateway_home))
    with Gateway(_session_app(settings)) as server:
        yield server


@pytest.fixture(scope="session")
def patient_gateway(emulator: EmulatorServer, gateway_home: Path) -> Iterator[Gateway]:
    """A gateway whose upstream read timeout is long: whatever closes Raycast's side early
    is the gateway noticing its client left, not the timeout."""
    options = client_options(emulator, gateway_home, timeout=Timeout(read=30.0))
    with Gateway(_session_app(GatewaySettings(client_options=options))) as server:
        yield server


@pytest.fixture(scope="session")
def keyed_gateway(emulator: EmulatorServer, gateway_home: Path) -> Iterator[Gateway]:
    settings = GatewaySettings(
        api_keys=("sk-gateway-test",),
        max_body_size=64 * 1024,
        client_options=client_options(emulator, gateway_home),
    )
    with Gateway(_session_app(settings)) as server:
        yield server


@pytest.fixture
def sync_openai(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        api_key="unused", base_url=gateway.base_url + "/v1", max_retries=0
    ) as client:
        yield client


@pytest.fixture
async def async_openai(gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key="unused", base_url=gateway.base_url + "/v1", max_retries=0
    ) as client:
        yield client
