"""Fixtures for the whole suite: the anyio backend, and the emulator on a real loopback socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from raycast_ai.emulator.server import EmulatorServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator for the session, with the published test token and secret. Tests that share
    it find their own requests in its recorder by a nonce in the prompt, or as the latest one."""
    with EmulatorServer() as server:
        yield server
