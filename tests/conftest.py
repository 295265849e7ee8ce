"""Fixtures for the whole suite: the anyio backend, and the emulator on a real loopback socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from raycast_ai.emulator.server import EmulatorServer
from support_emulator import KINDS, Harness, MakeHarness, make_harness
from support_redis import RedisServer

# `./scripts/test.sh` (and so CI) runs the property tests derandomized: the same examples on every
# run, so a red CI is never a coin toss. `--hypothesis-profile=thorough` explores far more.
settings.register_profile("ci", derandomize=True)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator for the session, with the published test token and secret. Tests that share
    it find their own requests in its recorder by a nonce in the prompt, or as the latest one."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each client: the sync one and the async one."""
    return str(request.param)


@pytest.fixture
async def make(
    kind: str, emulator: EmulatorServer, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[MakeHarness]:
    """Makes clients of `kind` for the emulator (see `support_emulator.make_harness`), closed
    after the test."""
    made: list[Harness] = []

    def factory(**changes: Any) -> Harness:
        harness = make_harness(kind, emulator, tmp_path / "home", **changes)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port for this test (`support_redis`)."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
