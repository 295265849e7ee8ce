"""The shared state on a real redis-server: the rate limit's window is exact and counted across
connections, usage sums, cooldowns expire, responses expire and are capped, and an outage is a
clear `StoreUnavailable` that ends by itself when Redis is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from raycast_ai.store.base import RateLimit, StoredResponse, StoreUnavailable, UsageRecord
from raycast_ai.store.cooldowns import RedisCooldowns
from raycast_ai.store.redis_backend import (
    RedisConnection,
    RedisRateLimiter,
    RedisResponseStore,
    RedisUsageBackend,
)
from raycast_ai.store.shared import redacted
from raycast_ai.store.usage import WriteBehindLedger
from support_redis import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def connections(redis_server: RedisServer) -> AsyncIterator[list[RedisConnection]]:
    """Two connections to the one Redis, as two replicas have."""
    made = [RedisConnection(redis_server.url, pause=0.2) for _ in range(2)]
    yield made
    for connection in made:
        await connection.aclose()


async def test_the_window_allows_n_then_refuses_with_the_time_until_the_oldest_leaves(
    connections: list[RedisConnection],
) -> None:
    a, b = (RedisRateLimiter(c) for c in connections)
    limit = RateLimit(3, 60.0)
    first = [await a.hit("key-1", limit), await b.hit("key-1", limit), await a.hit("key-1", limit)]
    assert [(d.allowed, d.remaining) for d in first] == [(True, 2), (True, 1), (True, 0)]
    refused = await b.hit("key-1", limit)
    assert not refused.allowed
    assert refused.remaining == 0
    assert 59.0 < refused.retry_after <= 60.0
    other = await b.hit("key-2", limit)  # each key has its own window
    assert other.allowed
    assert other.remaining == 2


async def test_a_request_is_allowed_again_once_the_window_has_passed(
    connections: list[RedisConnection],
) -> None:
    limiter = RedisRateLimiter(connections[0])
    limit = RateLimit(2, 0.3)
    assert (await limiter.hit("k", limit)).allowed
    assert (await limiter.hit("k", limit)).allowed
    refused = await limiter.hit("k", limit)
    assert not refused.allowed
    assert 0 < refused.retry_after <= 0.3
    await asyncio.sleep(refused.retry_after + 0.02)
    assert (await limiter.hit("k", limit)).allowed


async def test_usage_of_two_replicas_sums_by_key_and_model(
    connections: list[RedisConnection],
) -> None:
    a, b = (WriteBehindLedger(RedisUsageBackend(c)) for c in connections)
    await a.record("key-1", "openai-gpt-4o", 10, 5)
    await b.record("key-1", "openai-gpt-4o", 7, 3)
    await b.record("key-1", "anthropic-claude-haiku", 1, 2)
    await a.record("key-2", "openai-gpt-4o", 100, 50)
    await a.flush()
    await b.flush()
    assert await a.report("key-1") == [
        UsageRecord("key-1", "anthropic-claude-haiku", 1, 1, 2),
        UsageRecord("key-1", "openai-gpt-4o", 2, 17, 8),
    ]
    everyone = await b.report()
    assert [(r.key, r.model, r.requests) for r in everyone] == [
        ("key-1", "anthropic-claude-haiku", 1),
        ("key-1", "openai-gpt-4o", 2),
        ("key-2", "openai-gpt-4o", 1),
    ]


async def test_usage_recorded_while_redis_is_away_is_written_when_it_is_back(
    redis_server: RedisServer, connections: list[RedisConnection]
) -> None:
    ledger = WriteBehindLedger(RedisUsageBackend(connections[0]), retry_delay=0.05)
    redis_server.stop()
    await ledger.record("key-1", "m", 3, 4)
    await asyncio.sleep(0.1)
    with pytest.raises(StoreUnavailable):
        await ledger.report()
    redis_server.start()
    await asyncio.wait_for(ledger.flush(), 10)
    assert await ledger.report() == [UsageRecord("key-1", "m", 1, 3, 4)]


async def test_a_cooldown_set_by_one_replica_is_seen_by_the_other_until_it_ends(
    connections: list[RedisConnection],
) -> None:
    a, b = (RedisCooldowns(c) for c in connections)
    before = time.time()
    await a.cool("work", 0.3)
    await a.cool("home", 60)
    await b.cool("home", 1)  # a shorter cooldown does not shorten one under way
    cooling = await b.cooling()
    assert set(cooling) == {"work", "home"}
    assert before + 59 < cooling["home"] <= time.time() + 60
    await asyncio.sleep(0.35)
    assert set(await b.cooling()) == {"home"}


async def test_a_stored_response_is_read_by_the_other_replica_and_expires(
    connections: list[RedisConnection],
) -> None:
    a, b = (RedisResponseStore(c, ttl=0.3, max_bytes=10**6) for c in connections)
    stored = StoredResponse({"id": "resp_1", "output": []}, [{"role": "user", "content": "hi"}])
    await a.put("resp_1", stored)
    assert await b.get("resp_1") == stored
    await asyncio.sleep(0.35)
    assert await b.get("resp_1") is None


async def test_past_the_byte_cap_the_oldest_responses_go_first(
    connections: list[RedisConnection],
) -> None:
    store = RedisResponseStore(connections[0], ttl=60, max_bytes=2500)
    for n in range(5):
        await store.put(f"resp_{n}", StoredResponse({"id": f"resp_{n}", "text": "x" * 1000}, []))
    assert [await store.get(f"resp_{n}") is not None for n in range(5)] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert await store.delete("resp_4")
    assert not await store.delete("resp_4")
    assert await store.get("resp_4") is None
    await store.put("resp_5", StoredResponse({"id": "resp_5", "text": "y" * 1000}, []))
    assert await store.get("resp_3") is not None  # the deleted one's bytes were given back


async def test_an_outage_is_a_clear_error_and_ends_without_a_new_connection(
    redis_server: RedisServer, connections: list[RedisConnection]
) -> None:
    connection = connections[0]
    store = RedisResponseStore(connection, ttl=60, max_bytes=10**6)
    await store.put("resp_1", StoredResponse({"id": "resp_1"}, []))
    redis_server.stop()
    with pytest.raises(StoreUnavailable) as refused:
        await store.get("resp_1")
    assert str(refused.value).startswith(f"Redis at {redis_server.url} is unreachable: ")
    problem = await connection.problem()
    assert problem is not None
    assert problem.startswith(f"Redis at {redis_server.url} is unreachable")
    redis_server.start()  # empty again: nothing persisted
    assert await connection.problem() is None
    assert await store.get("resp_1") is None
    await store.put("resp_2", StoredResponse({"id": "resp_2"}, []))
    assert await store.get("resp_2") is not None


def test_a_password_in_the_url_is_never_shown() -> None:
    assert redacted("redis://:s3cret@example.com:6380/2") == "redis://:***@example.com:6380/2"
    assert redacted("redis://user:s3cret@[::1]/0") == "redis://user:***@[::1]/0"
    assert redacted("redis://example.com/0") == "redis://example.com/0"


async def test_after_a_timeout_calls_fail_at_once_for_a_pause_then_try_again() -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        connection = RedisConnection(url, timeout=0.3, pause=0.5)
        limiter = RedisRateLimiter(connection)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="is unreachable"):
                await limiter.hit("k", RateLimit(1, 1.0))
            assert time.monotonic() - started >= 0.3
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="is unreachable"):
                await limiter.hit("k", RateLimit(1, 1.0))
            assert time.monotonic() - started < 0.1  # paused: no new wait
            await asyncio.sleep(0.5)
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await limiter.hit("k", RateLimit(1, 1.0))
            assert time.monotonic() - started >= 0.3  # tried again
        finally:
            await connection.aclose()
