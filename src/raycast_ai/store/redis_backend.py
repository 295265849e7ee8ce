"""The shared state of several gateway replicas, on one Redis: stored responses, rate limits,
usage and cooldowns (`shared.open_shared` builds them from a `redis://` URL).

Each operation is one round trip (a Lua script or a pipeline), atomic on the server. Every
Redis failure becomes `StoreUnavailable`; after a slow one (a timeout), calls fail at once for
`PAUSE` seconds rather than each waiting for a Redis that does not answer, then the next call
tries again, so a Redis that comes back is used again without a restart.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from .base import REDIS_PREFIX as PREFIX
from .base import Decision, RateLimit, StoredResponse, StoreUnavailable, UsageRecord
from .shared import redacted

PAUSE = 1.0
SLOW = 0.25  # seconds: a failure slower than this pauses the calls
TIMEOUT = 2.0
MAX_CONNECTIONS = 32

T = TypeVar("T")


class RedisConnection:
    """One pool of connections to one Redis, shared by the four stores over it."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT, pause: float = PAUSE) -> None:
        self.url = redacted(url)
        # One immediate retry: a connection that Redis closed (a restart) is replaced at once.
        # At most MAX_CONNECTIONS: a thousand concurrent requests wait their turn for one
        # (commands take well under a millisecond) instead of each opening a socket to Redis.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self.client: Redis = Redis.from_pool(pool)
        self._pause = pause
        self._down_until = 0.0
        self._reason = ""
        self._scripts: dict[str, AsyncScript] = {}

    def __repr__(self) -> str:
        return f"RedisConnection({self.url!r})"

    async def run(self, call: Callable[[Redis], Awaitable[T]]) -> T:
        if time.monotonic() < self._down_until:
            raise StoreUnavailable(self._unreachable(self._reason))
        started = time.monotonic()
        try:
            return await call(self.client)
        except (RedisError, OSError) as exc:
            self._reason = (str(exc) or type(exc).__name__).rstrip(".")
            # A refused connection costs nothing to try again; a timeout costs seconds.
            if time.monotonic() - started > SLOW:
                self._down_until = time.monotonic() + self._pause
            raise StoreUnavailable(self._unreachable(self._reason)) from exc

    async def problem(self) -> str | None:
        """Why Redis cannot be used now, or None (it answered PING)."""
        self._down_until = 0.0  # asked explicitly: try now
        try:
            await self.run(lambda client: client.ping())
        except StoreUnavailable as exc:
            return str(exc)
        return None

    async def script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Runs a Lua script by its digest, sending it only when Redis does not have it yet."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return await self.run(lambda r: script(keys=keys, args=args))

    def _unreachable(self, reason: str) -> str:
        return f"Redis at {self.url} is unreachable: {reason}"

    async def aclose(self) -> None:
        await self.client.aclose()


_PUT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prefix, id, data = ARGV[1], ARGV[2], ARGV[3]
local ttl, max = tonumber(ARGV[4]), tonumber(ARGV[5])
local old = tonumber(redis.call('HGET', KEYS[2], id) or '0')
redis.call('SET', prefix .. id, data, 'PX', ttl)
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, string.len(data))
local total = redis.call('INCRBY', KEYS[3], string.len(data) - old)
local function forget(gone)
  local size = tonumber(redis.call('HGET', KEYS[2], gone) or '0')
  redis.call('DEL', prefix .. gone)
  redis.call('HDEL', KEYS[2], gone)
  redis.call('ZREM', KEYS[1], gone)
  return redis.call('DECRBY', KEYS[3], size)
end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ttl, 'LIMIT', 0, 100)) do
  total = forget(gone)
end
while total > max do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #oldest == 0 then break end
  total = forget(oldest[1])
end
return total
"""

_DELETE = """
local size = redis.call('HGET', KEYS[2], ARGV[2])
local existed = redis.call('DEL', ARGV[1] .. ARGV[2])
if size then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('DECRBY', KEYS[3], tonumber(size))
end
return existed
"""


class RedisResponseStore:
    """Responses as JSON strings that expire after `ttl` seconds; past `max_bytes` of JSON in
    all, the oldest go first (an index and a running total kept by the same script)."""

    def __init__(self, redis: RedisConnection, *, ttl: float, max_bytes: int) -> None:
        self.redis = redis
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._keys = [PREFIX + "responses:index", PREFIX + "responses:sizes"]
        self._keys.append(PREFIX + "responses:bytes")
        self._prefix = PREFIX + "response:"

    def __repr__(self) -> str:
        return f"RedisResponseStore({self.redis.url!r})"

    async def get(self, response_id: str) -> StoredResponse | None:
        data = await self.redis.run(lambda r: r.get(self._prefix + response_id))
        if data is None:
            return None
        stored = json.loads(data)
        return StoredResponse(stored["response"], stored["messages"])

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        data = json.dumps(
            {"response": stored.response, "messages": stored.messages},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        ttl_ms = max(1, int(self.ttl * 1000))
        args = [self._prefix, response_id, data, ttl_ms, self.max_bytes]
        await self.redis.script(_PUT, self._keys, args)

    async def delete(self, response_id: str) -> bool:
        args = [self._prefix, response_id]
        return bool(await self.redis.script(_DELETE, self._keys, args))


# A sliding window log: the times of the requests of the last window, in a sorted set.
_HIT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


class RedisRateLimiter:
    """The window of `limits.MemoryRateLimiter`, counted on Redis's clock for every replica."""

    def __init__(self, redis: RedisConnection) -> None:
        self.redis = redis

    def __repr__(self) -> str:
        return f"RedisRateLimiter({self.redis.url!r})"

    async def hit(self, key: str, limit: RateLimit) -> Decision:
        window_us = max(1, int(limit.window * 1_000_000))
        keys = [f"{PREFIX}limit:{key}:{limit.requests}/{window_us}"]
        args = [window_us, limit.requests, secrets.token_hex(8)]
        allowed, remaining, wait_us = await self.redis.script(_HIT, keys, args)
        return Decision(bool(allowed), int(remaining), int(wait_us) / 1_000_000)


_USAGE_FIELDS = ("requests", "input_tokens", "output_tokens")


class RedisUsageBackend:
    """A hash per gateway key (`<model>\\n<count>` fields), added to with HINCRBY in one
    transaction per batch; the keys seen are in one set."""

    def __init__(self, redis: RedisConnection) -> None:
        self.redis = redis
        self._keys = PREFIX + "usage:keys"

    def __repr__(self) -> str:
        return f"RedisUsageBackend({self.redis.url!r})"

    async def add(self, records: Iterable[UsageRecord]) -> None:
        async def add(r: Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                for record in records:
                    name = PREFIX + "usage:" + record.key
                    pipe.sadd(self._keys, record.key)
                    for field, value in zip(_USAGE_FIELDS, _counts(record), strict=True):
                        if value:
                            pipe.hincrby(name, f"{record.model}\n{field}", value)
                await pipe.execute()

        await self.redis.run(add)

    async def report(self, key: str | None = None) -> list[UsageRecord]:
        async def read(r: Redis) -> list[UsageRecord]:
            names = [key] if key is not None else await self._names(r)
            async with r.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hgetall(PREFIX + "usage:" + name)
                hashes = await pipe.execute()
            pairs = zip(names, hashes, strict=True)
            return [record for name, fields in pairs for record in _records(name, fields)]

        return await self.redis.run(read)

    async def _names(self, r: Redis) -> list[str]:
        return sorted(_text(name) for name in await r.smembers(self._keys))


def _counts(record: UsageRecord) -> tuple[int, int, int]:
    return record.requests, record.input_tokens, record.output_tokens


def _records(key: str, fields: dict[bytes, bytes]) -> list[UsageRecord]:
    counts: dict[str, dict[str, int]] = {}
    for field, value in fields.items():
        model, _, name = field.decode().rpartition("\n")
        counts.setdefault(model, {})[name] = int(value)
    return [
        UsageRecord(key, model, *(c.get(name, 0) for name in _USAGE_FIELDS))
        for model, c in sorted(counts.items())
    ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
