"""The embedded shared state of one gateway: the rate-limit notation, the in-memory window,
usage written behind to SQLite in the data folder, and `open_shared` for either store."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from raycast_ai.server.settings import GatewaySettings
from raycast_ai.store.base import RateLimit, StoreError, UsageRecord
from raycast_ai.store.limits import MemoryRateLimiter, parse_rate_limit
from raycast_ai.store.shared import check_store_url, open_shared
from raycast_ai.store.usage import SQLiteUsageBackend, WriteBehindLedger

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60/min", RateLimit(60, 60.0)),
        ("5/s", RateLimit(5, 1.0)),
        ("5/sec", RateLimit(5, 1.0)),
        ("1000/hour", RateLimit(1000, 3600.0)),
        (" 10 / MINUTE ", RateLimit(10, 60.0)),
    ],
)
def test_rate_limits_are_requests_per_unit(text: str, expected: RateLimit) -> None:
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("text", ["60", "0/min", "60/day", "-1/s", "ten/min", ""])
def test_a_rate_limit_that_is_not_one_says_how_to_write_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 60/min"):
        parse_rate_limit(text)


async def test_the_memory_window_is_exact() -> None:
    now = [100.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    limit = RateLimit(3, 60.0)
    decisions = []
    for at in (100.0, 110.0, 120.0, 130.0):
        now[0] = at
        decisions.append(await limiter.hit("key-1", limit))
    assert [(d.allowed, d.remaining) for d in decisions] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    assert decisions[-1].retry_after == pytest.approx(30.0)  # the first leaves at 160
    assert (await limiter.hit("key-2", limit)).allowed
    now[0] = 160.0
    assert (await limiter.hit("key-1", limit)).allowed
    assert not (await limiter.hit("key-1", limit)).allowed


async def test_usage_is_written_behind_to_a_private_file_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "home" / "usage.sqlite3"
    ledger = WriteBehindLedger(SQLiteUsageBackend(path))
    for _ in range(3):
        await ledger.record("key-1", "openai-gpt-4o", 10, 4)
    await ledger.record("anonymous", "openai-gpt-4o", 1, 1)
    # Read before the write ended: what is in memory counts too.
    assert await ledger.report("key-1") == [UsageRecord("key-1", "openai-gpt-4o", 3, 30, 12)]
    await ledger.aclose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = WriteBehindLedger(SQLiteUsageBackend(path))
    assert await again.report() == [
        UsageRecord("anonymous", "openai-gpt-4o", 1, 1, 1),
        UsageRecord("key-1", "openai-gpt-4o", 3, 30, 12),
    ]


async def test_recording_usage_never_waits_for_the_disk(tmp_path: Path) -> None:
    class Stuck:
        release = asyncio.Event()

        async def add(self, records: object) -> None:
            await self.release.wait()

        async def report(self, key: str | None = None) -> list[UsageRecord]:
            return []

    backend = Stuck()
    ledger = WriteBehindLedger(backend)
    async with asyncio.timeout(1):
        for _ in range(1000):
            await ledger.record("key-1", "m", 1, 1)
    backend.release.set()
    await ledger.flush()


def test_a_store_url_that_is_not_redis_names_itself_in_one_line() -> None:
    assert check_store_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    check_store_url("rediss://cache.example.com:6380")
    check_store_url("unix:///run/redis.sock")
    for bad, why in [
        ("http://127.0.0.1:6379", "must start with redis://"),
        ("redis://", "names no host"),
        ("redis://host:port/0", "port is not a number"),
        ("redis://host:6379/zero", "must be a number"),
    ]:
        with pytest.raises(ValueError, match=why) as refused:
            check_store_url(bad)
        assert f"'{bad}' is not a Redis URL" in str(refused.value)
        assert "\n" not in str(refused.value)


async def test_the_embedded_store_is_never_degraded_and_a_lost_redis_is(tmp_path: Path) -> None:
    settings = GatewaySettings()
    embedded = open_shared(None, tmp_path, settings)
    assert await embedded.problem() is None
    await embedded.aclose()
    with socket_closed() as port:
        remote = open_shared(f"redis://127.0.0.1:{port}/0", tmp_path, settings)
        problem = await remote.problem()
        await remote.aclose()
    assert problem is not None
    assert problem.startswith(f"Redis at redis://127.0.0.1:{port}/0 is unreachable: ")
    assert problem.endswith("stored responses, shared rate limits and usage are unavailable")


async def test_a_usage_file_that_cannot_be_written_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "usage.sqlite3").mkdir()  # a folder where the file should be
    with pytest.raises(StoreError, match="usage ledger"):
        await SQLiteUsageBackend(tmp_path / "usage.sqlite3").report()


class socket_closed:
    """A loopback port nothing listens on, for as long as the block runs."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port: int = self.sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
