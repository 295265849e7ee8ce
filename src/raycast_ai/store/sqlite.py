"""The embedded response store: one SQLite file in the data folder, private to the user.

Each call runs in a worker thread on its own connection, so the event loop never waits on the
disk and no connection is shared between threads. Responses older than `ttl` seconds read as
unknown and are purged on the next write; past `max_bytes` of stored JSON the oldest go first.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio.to_thread

from .base import StoredResponse

FILENAME = "responses.sqlite3"
DEFAULT_TTL = 30 * 24 * 3600.0
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS responses ("
    "id TEXT PRIMARY KEY, created REAL NOT NULL, size INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS responses_created ON responses (created)",
)
# The newest rows whose sizes add up to the cap stay; the rest go.
_EVICT = (
    "DELETE FROM responses WHERE id IN (SELECT id FROM (SELECT id, SUM(size) OVER "
    "(ORDER BY created DESC, rowid DESC) AS running FROM responses) WHERE running > ?)"
)


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
        self._ready = False

    def __repr__(self) -> str:
        return f"SQLiteResponseStore({str(self.path)!r})"

    async def get(self, response_id: str) -> StoredResponse | None:
        return await anyio.to_thread.run_sync(self._get, response_id)

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        await anyio.to_thread.run_sync(self._put, response_id, stored)

    async def delete(self, response_id: str) -> bool:
        return await anyio.to_thread.run_sync(self._delete, response_id)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._create()
        connection = sqlite3.connect(self.path, timeout=10.0)
        try:
            with connection:  # one transaction, committed unless an error escapes
                yield connection
        finally:
            connection.close()

    def _create(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Prompts and answers: created 0600, never readable by other users.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        connection = sqlite3.connect(self.path, timeout=10.0)
        try:
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.commit()
        finally:
            connection.close()
        self._ready = True

    def _get(self, response_id: str) -> StoredResponse | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT data FROM responses WHERE id = ? AND created >= ?",
                (response_id, self._clock() - self.ttl),
            ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return StoredResponse(data["response"], data["messages"])

    def _put(self, response_id: str, stored: StoredResponse) -> None:
        data = json.dumps(
            {"response": stored.response, "messages": stored.messages},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        now = self._clock()
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO responses (id, created, size, data) VALUES (?, ?, ?, ?)",
                (response_id, now, len(data.encode()), data),
            )
            db.execute("DELETE FROM responses WHERE created < ?", (now - self.ttl,))
            db.execute(_EVICT, (self.max_bytes,))

    def _delete(self, response_id: str) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "DELETE FROM responses WHERE id = ? AND created >= ?",
                (response_id, self._clock() - self.ttl),
            )
            return cursor.rowcount > 0
