"""Per-key rate limits: the `--rate-limit 60/min` notation, and a sliding window counted in this
process (one gateway). `redis_backend.RedisRateLimiter` counts the same window across replicas."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable

from .base import Decision, RateLimit

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "hour": 3600.0}
_NOTATION = re.compile(r"\s*(\d+)\s*/\s*([a-z]+?)s?\s*")


def parse_rate_limit(text: str) -> RateLimit:
    """`60/min` (also `N/s`, `N/sec`, `N/hour`) as a `RateLimit`; ValueError says what is wrong."""
    match = _NOTATION.fullmatch(text.lower())
    window = _UNITS.get(match.group(2)) if match else None
    if match is None or window is None or int(match.group(1)) < 1:
        raise ValueError(
            f"'{text[:50]}' is not a rate limit: write requests per unit, e.g. 60/min "
            "(units: s, sec, min, hour)."
        )
    return RateLimit(int(match.group(1)), window)


def describe(limit: RateLimit) -> str:
    """`60 requests per minute`, as messages say it."""
    names = {1.0: "second", 60.0: "minute", 3600.0: "hour"}
    return f"{limit.requests} requests per {names.get(limit.window, f'{limit.window:g} s')}"


class MemoryRateLimiter:
    """A sliding window per key, in memory: each request's time is kept for one window, so a
    key gets `limit.requests` in any `limit.window` seconds, never a burst at a window's edge."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    async def hit(self, key: str, limit: RateLimit) -> Decision:
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - limit.window:
            hits.popleft()
        if len(hits) >= limit.requests:
            return Decision(False, 0, hits[0] + limit.window - now)
        hits.append(now)
        return Decision(True, limit.requests - len(hits))
