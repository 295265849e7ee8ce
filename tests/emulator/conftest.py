"""One emulator per test module on a real loopback socket, and an httpx2 client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from raycast_ai.emulator.server import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as running:
        yield running


@pytest.fixture(scope="module")
def http(server: EmulatorServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url, timeout=5.0, trust_env=False) as client:
        yield client
