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


class StoreError(Exception):
    """The store could not read or write (a broken file, a lost server): every implementation
    raises this, so the gateway answers it in its own error shape."""


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
