"""The embedded response store: one SQLite file in the data folder, private to the user.

Each call runs in a worker thread, so the event loop never waits on the disk; the store's one
connection serves one call at a time. Writes are committed in groups: a `put` that arrives
while a transaction is being written joins the next one, so a burst of answers costs a few
transactions, not one each (500 concurrent answers otherwise queued 500 transactions behind one
connection); `put` returns once its own transaction is committed. Responses older than `ttl`
seconds read as unknown and are purged on the next write; past `max_bytes` of stored JSON the
oldest go first.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio.to_thread

from .base import StoredResponse, StoreError
from .sqlite_file import PrivateDatabase

FILENAME = "responses.sqlite3"
DEFAULT_TTL = 30 * 24 * 3600.0
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS responses ("
    "id TEXT PRIMARY KEY, created REAL NOT NULL, size INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS responses_created ON responses (created)",
    # The stored bytes, kept up to date with each write, so a write need not sum every row.
    "CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO totals VALUES ('bytes', (SELECT COALESCE(SUM(size), 0) FROM responses))",
)
# The newest rows whose sizes add up to the cap stay; the rest go.
_EVICT = (
    "DELETE FROM responses WHERE id IN (SELECT id FROM (SELECT id, SUM(size) OVER "
    "(ORDER BY created DESC, rowid DESC) AS running FROM responses) WHERE running > ?)"
)
_ADD = "UPDATE totals SET value = value + ? WHERE name = 'bytes'"


class _Batch:
    """The writes one transaction commits, and how it went."""

    __slots__ = ("entries", "error", "written")

    def __init__(self) -> None:
        self.entries: dict[str, StoredResponse] = {}
        self.written = False
        self.error: StoreError | None = None


class SQLiteResponseStore:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float = DEFAULT_TTL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._clock = clock
        self._db = PrivateDatabase(self.path, _SCHEMA, "The response store")
        self._open_batch = _Batch()  # what the next transaction will write
        self._writing: _Batch | None = None  # what is being written now
        self._written: anyio.Event | None = None  # set when the one being written ends

    def __repr__(self) -> str:
        return f"SQLiteResponseStore({str(self.path)!r})"

    async def get(self, response_id: str) -> StoredResponse | None:
        for batch in (self._open_batch, self._writing):
            if batch is not None and response_id in batch.entries:
                return batch.entries[response_id]
        return await anyio.to_thread.run_sync(self._get, response_id)

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        batch = self._open_batch
        batch.entries[response_id] = stored
        while not batch.written:
            if self._writing is None:
                await self._write_open_batch()
            else:
                if self._written is None:
                    self._written = anyio.Event()
                await self._written.wait()
        if batch.error is not None:
            raise batch.error

    async def put_many(self, entries: Mapping[str, StoredResponse]) -> None:
        """Several responses in one transaction."""
        await anyio.to_thread.run_sync(self._put_all, dict(entries))

    async def _write_open_batch(self) -> None:
        batch, self._open_batch = self._open_batch, _Batch()
        self._writing = batch
        try:
            await anyio.to_thread.run_sync(self._put_all, batch.entries)
        except StoreError as exc:
            batch.error = exc
        finally:
            batch.written = True
            self._writing = None
            if self._written is not None:
                self._written.set()
                self._written = None

    async def delete(self, response_id: str) -> bool:
        pending = self._open_batch.entries.pop(response_id, None) is not None
        return await anyio.to_thread.run_sync(self._delete, response_id) or pending

    def close(self) -> None:
        """Closes the file; the next call opens it again. (Garbage collection closes it too.)"""
        self._db.close()

    def _get(self, response_id: str) -> StoredResponse | None:
        with self._db.transaction() as db:
            row = db.execute(
                "SELECT data FROM responses WHERE id = ? AND created >= ?",
                (response_id, self._clock() - self.ttl),
            ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return StoredResponse(data["response"], data["messages"])

    def _put_all(self, entries: dict[str, StoredResponse]) -> None:
        now = self._clock()
        with self._db.transaction() as db:
            for response_id, stored in entries.items():
                data = json.dumps(
                    {"response": stored.response, "messages": stored.messages},
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                size = len(data.encode())
                db.execute(_ADD, (size - self._sizes(db, "id = ?", response_id),))
                db.execute(
                    "INSERT OR REPLACE INTO responses (id, created, size, data) "
                    "VALUES (?, ?, ?, ?)",
                    (response_id, now, size, data),
                )
            db.execute(_ADD, (-self._sizes(db, "created < ?", now - self.ttl),))
            db.execute("DELETE FROM responses WHERE created < ?", (now - self.ttl,))
            (total,) = db.execute("SELECT value FROM totals WHERE name = 'bytes'").fetchone()
            if total > self.max_bytes:
                db.execute(_EVICT, (self.max_bytes,))
                db.execute(
                    "UPDATE totals SET value = (SELECT COALESCE(SUM(size), 0) FROM responses) "
                    "WHERE name = 'bytes'"
                )

    @staticmethod
    def _sizes(db: sqlite3.Connection, where: str, *values: object) -> int:
        row = db.execute(f"SELECT COALESCE(SUM(size), 0) FROM responses WHERE {where}", values)
        return int(row.fetchone()[0])

    def _delete(self, response_id: str) -> bool:
        live = (response_id, self._clock() - self.ttl)
        with self._db.transaction() as db:
            size = self._sizes(db, "id = ? AND created >= ?", *live)
            cursor = db.execute("DELETE FROM responses WHERE id = ? AND created >= ?", live)
            db.execute(_ADD, (-size,))
            return cursor.rowcount > 0
