"""The stored-response interface: what `previous_response_id` and `GET /v1/responses/{id}` need.

A store keeps, by response id, the response object as it was sent and the neutral input
messages that led to it (the conversation before it included, the instructions not), so a
later request can continue from it. Implementations: `sqlite.SQLiteResponseStore` (embedded);
one over Redis for replicas that share responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# What every key the gateway keeps on Redis starts with.
REDIS_PREFIX = "raycast-ai:"


class StoreError(Exception):
    """The store could not read or write (a broken file, a lost server): every implementation
    raises this, so the gateway answers it in its own error shape."""


class StoreUnavailable(StoreError):
    """The store's server cannot be reached for now (Redis stopped, the network down): the
    request may succeed later, so the gateway answers 503."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    response: Mapping[str, Any]
    messages: Sequence[Mapping[str, Any]]


class ResponseStore(Protocol):
    """Async and safe to share between requests; an expired or evicted id reads as unknown.
    Failures raise `StoreError`."""

    async def get(self, response_id: str) -> StoredResponse | None: ...
    async def put(self, response_id: str, stored: StoredResponse) -> None: ...
    async def delete(self, response_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` per `window` seconds for one gateway key (`--rate-limit 60/min`)."""

    requests: int
    window: float


@dataclass(frozen=True, slots=True)
class Decision:
    """A rate limiter's answer: whether this request may go, how many more may go in the
    current window, and, when refused, the seconds until one may (the `retry-after`)."""

    allowed: bool
    remaining: int
    retry_after: float = 0.0


class RateLimiter(Protocol):
    """Counts requests per gateway key; shared by every replica on one store."""

    async def hit(self, key: str, limit: RateLimit) -> Decision: ...


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """What one gateway key spent on one model: requests, and the tokens Raycast reported
    (estimated where it reported none)."""

    key: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int


class UsageLedger(Protocol):
    """Per-key, per-model usage, summed over every replica on one store."""

    async def record(self, key: str, model: str, input_tokens: int, output_tokens: int) -> None: ...
    async def report(self, key: str | None = None) -> list[UsageRecord]: ...


class Cooldowns(Protocol):
    """Raycast accounts (by name) that got a 429 or a quota error, and until when (wall clock
    seconds) no replica should use them."""

    async def cool(self, account: str, seconds: float) -> None: ...
    async def cooling(self) -> dict[str, float]: ...
