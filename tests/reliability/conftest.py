"""Fixtures: the gateway in-process over the emulator app in-process (no sockets), on an event
loop in another thread so that synchronous property tests can drive it. The bench scripts are
importable (`import chaos`) through pytest's `pythonpath` (pyproject.toml)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.app import create_app as emulator_app
from raycast_ai.emulator.recorder import Recorder
from raycast_ai.server import GatewaySettings, create_app


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAYCAST_AI_API_KEYS", raising=False)


class InProcessGateway:
    """`request(...)` as on `httpx2.Client`, answered by the gateway over the emulator."""

    def __init__(self, portal: BlockingPortal, http: httpx2.AsyncClient, emulator: Any) -> None:
        self.portal = portal
        self.http = http
        self.recorder: Recorder = emulator.state.recorder

    def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        return self.portal.call(functools.partial(self.http.request, method, url, **kwargs))


@asynccontextmanager
async def gateway_over_emulator(home: Path, emulator: Any) -> AsyncIterator[httpx2.AsyncClient]:
    async with AsyncRaycastClient(
        token=EMULATOR_TOKEN,
        signing_secret=EMULATOR_SECRET,
        base_url="http://emulator",
        home=home,
        max_retries=0,
        transport=httpx2.ASGITransport(emulator),
    ) as upstream:
        app = create_app(GatewaySettings(), client=upstream)
        # An exception escaping the app must show as the 500 it sends, not fail the test.
        transport = httpx2.ASGITransport(app, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


@pytest.fixture(scope="module")
def inprocess(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGateway]:
    home = tmp_path_factory.mktemp("home")
    emulator = emulator_app()
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(gateway_over_emulator(home, emulator)) as http,
    ):
        yield InProcessGateway(portal, http, emulator)
