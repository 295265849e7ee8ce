"""Cooldowns of Raycast accounts: in this process (one gateway), or shared over Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .base import REDIS_PREFIX as PREFIX

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .redis_backend import RedisConnection


class MemoryCooldowns:
    """Cooldowns seen by this process only: enough for one gateway process."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def cool(self, account: str, seconds: float) -> None:
        until = time.time() + seconds
        self._until[account] = max(until, self._until.get(account, 0.0))

    async def cooling(self) -> dict[str, float]:
        now = time.time()
        self._until = {name: until for name, until in self._until.items() if until > now}
        return dict(self._until)


_COOL = """
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2]) * 1000))
"""


class RedisCooldowns:
    """Cooldowns every replica sees: a sorted set of accounts by the time their cooldown ends,
    which Redis drops once the last one ended."""

    def __init__(self, redis: RedisConnection, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self._clock = clock
        self._key = PREFIX + "cooldowns"

    def __repr__(self) -> str:
        return f"RedisCooldowns({self.redis.url!r})"

    async def cool(self, account: str, seconds: float) -> None:
        until = self._clock() + seconds
        await self.redis.script(_COOL, [self._key], [account, repr(until)])

    async def cooling(self) -> dict[str, float]:
        now = self._clock()

        async def read(r: Redis) -> list[tuple[bytes, float]]:
            async with r.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._key, "-inf", now)
                pipe.zrange(self._key, 0, -1, withscores=True)
                _, accounts = await pipe.execute()
            return list(accounts)

        return {name.decode(): until for name, until in await self.redis.run(read)}
