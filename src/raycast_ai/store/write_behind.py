"""A response store in front of another that answers `put` at once and writes in the background.

An answer should not wait for the disk, nor should each answer pay for a write of its own: a
burst of 500 answers stored one by one cost the gateway a fifth more time per stream
(`bench/gateway.py`, `/v1/responses` at 500 concurrent streams). Here one background task
hands the backend whatever arrived while it wrote the last batch, in one call when the backend
has `put_many` (SQLite: one transaction). What is not written yet is read from memory, so this
process reads its own writes at once; a failed write is logged (the answer was already sent);
`aclose` waits for what is still being written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from .base import ResponseStore, StoredResponse

log = logging.getLogger("raycast_ai.store")


class WriteBehindStore:
    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        self._unsaved: dict[str, StoredResponse] = {}  # not handed to the backend yet
        self._writing: dict[str, StoredResponse] = {}  # the batch being written
        self._written = asyncio.Event()  # set after each batch
        self._writer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"WriteBehindStore({self.store!r})"

    async def get(self, response_id: str) -> StoredResponse | None:
        for pending in (self._unsaved, self._writing):
            if response_id in pending:
                return pending[response_id]
        return await self.store.get(response_id)

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        self._unsaved[response_id] = stored
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._unsaved:
                self._writing, self._unsaved = self._unsaved, {}
                try:
                    await _put_many(self.store, self._writing)
                except Exception:
                    ids = ", ".join(list(self._writing)[:5])
                    log.exception("storing %d responses (%s) failed", len(self._writing), ids)
                finally:
                    self._writing = {}
                    self._written.set()
                    self._written = asyncio.Event()
        finally:
            self._writer = None

    async def delete(self, response_id: str) -> bool:
        unsaved = self._unsaved.pop(response_id, None) is not None
        while response_id in self._writing:  # else the write could land after the delete
            await self._written.wait()
        return await self.store.delete(response_id) or unsaved

    async def aclose(self) -> None:
        """Waits for every write still under way."""
        while self._writer is not None:
            await asyncio.wait([self._writer])


async def _put_many(store: ResponseStore, entries: Mapping[str, StoredResponse]) -> None:
    put_many = getattr(store, "put_many", None)
    if put_many is not None:
        await put_many(entries)
        return
    for response_id, stored in entries.items():
        await store.put(response_id, stored)
