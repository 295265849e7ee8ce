"""What the gateway keeps beyond one request, in one bundle: stored responses, rate limits,
usage and account cooldowns. Embedded for one machine (SQLite in the data folder, counters in
memory), or on one Redis that every replica shares (`--store redis://HOST:PORT/DB`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from .base import Cooldowns, RateLimiter, ResponseStore
from .cooldowns import MemoryCooldowns
from .limits import MemoryRateLimiter
from .sqlite import FILENAME as RESPONSES_FILENAME
from .sqlite import SQLiteResponseStore
from .usage import FILENAME as USAGE_FILENAME
from .usage import SQLiteUsageBackend, WriteBehindLedger
from .write_behind import WriteBehindStore

SCHEMES = ("redis", "rediss", "unix")


class StoreSettings(Protocol):
    @property
    def response_store_ttl(self) -> float: ...
    @property
    def response_store_max_bytes(self) -> int: ...


@dataclass(eq=False)
class Shared:
    """`where` names the store for people ("the data folder", "Redis at redis://…")."""

    responses: ResponseStore
    limits: RateLimiter
    usage: WriteBehindLedger
    cooldowns: Cooldowns
    where: str
    redis: RedisConnectionLike | None = None

    async def problem(self) -> str | None:
        """Why the shared state is degraded now, or None."""
        if self.redis is None:
            return None
        reason = await self.redis.problem()
        if reason is None:
            return None
        return f"{reason}; stored responses, shared rate limits and usage are unavailable"

    async def aclose(self) -> None:
        """Writes what is still held in memory, then closes the connections."""
        close = getattr(self.responses, "aclose", None)
        if close is not None:
            await close()
        await self.usage.aclose()
        for backend in (self.responses, self.usage.backend):
            inner = getattr(backend, "store", backend)
            if hasattr(inner, "close"):
                inner.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()


class RedisConnectionLike(Protocol):
    url: str

    async def problem(self) -> str | None: ...
    async def aclose(self) -> None: ...


def check_store_url(url: str) -> str:
    """`url` when it names a Redis (`redis://HOST:PORT/DB`, `rediss://`, `unix://PATH`), else
    ValueError with one line that names it."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in SCHEMES:
        problem = "it must start with redis://, rediss:// or unix://"
    elif parts.scheme != "unix" and not parts.hostname:
        problem = "it names no host"
    elif parts.scheme != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
        problem = "the database after the port must be a number (redis://HOST:PORT/0)"
    else:
        try:
            parts.port  # noqa: B018 (raises for a port that is not a number)
        except ValueError:
            problem = "its port is not a number"
    if problem is not None:
        raise ValueError(f"'{url[:200]}' is not a Redis URL: {problem}.")
    return url


def redacted(url: str) -> str:
    """`url` without its password, as logs and errors show it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redis_missing() -> str | None:
    """Why a Redis store cannot be used in this environment, or None."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return (
            "A Redis store needs the redis package: pip install 'raycast-ai[redis]' "
            "(or pip install 'redis>=5')."
        )
    return None


def open_shared(url: str | None, home: Path, settings: StoreSettings) -> Shared:
    """The shared state: on the Redis at `url`, else embedded, with SQLite files in `home`.
    Nothing connects yet (Redis on first use); `Shared.problem()` says whether it can."""
    ttl, max_bytes = settings.response_store_ttl, settings.response_store_max_bytes
    if url is None:
        responses = SQLiteResponseStore(home / RESPONSES_FILENAME, ttl=ttl, max_bytes=max_bytes)
        return Shared(
            responses=WriteBehindStore(responses),
            limits=MemoryRateLimiter(),
            usage=WriteBehindLedger(SQLiteUsageBackend(home / USAGE_FILENAME)),
            cooldowns=MemoryCooldowns(),
            where=f"the data folder {home}",
        )
    check_store_url(url)
    missing = redis_missing()
    if missing is not None:
        raise ValueError(missing)
    from .cooldowns import RedisCooldowns
    from .redis_backend import (
        RedisConnection,
        RedisRateLimiter,
        RedisResponseStore,
        RedisUsageBackend,
    )

    redis = RedisConnection(url)
    return Shared(
        # Written before the answer ends: another replica may be asked to continue it at once.
        responses=RedisResponseStore(redis, ttl=ttl, max_bytes=max_bytes),
        limits=RedisRateLimiter(redis),
        usage=WriteBehindLedger(RedisUsageBackend(redis)),
        cooldowns=RedisCooldowns(redis),
        where=f"Redis at {redis.url}",
        redis=redis,
    )
