"""Usage accounting: requests and tokens by gateway key and model.

`WriteBehindLedger` is what the gateway records into: `record` only adds to counters in memory,
and one background task adds them to the backend (`SQLiteUsageBackend` in the data folder, or
`redis_backend.RedisUsageBackend` for replicas) in batches, so an answer never waits for a
write. Counts the backend could not take (Redis away) stay in memory and go with the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import anyio.to_thread

from .base import StoreError, UsageRecord
from .sqlite_file import PrivateDatabase

log = logging.getLogger("raycast_ai.store")

FILENAME = "usage.sqlite3"
RETRY_DELAY = 1.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS usage (key TEXT NOT NULL, model TEXT NOT NULL, "
    "requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, "
    "output_tokens INTEGER NOT NULL, PRIMARY KEY (key, model))",
)


class UsageBackend(Protocol):
    async def add(self, records: Iterable[UsageRecord]) -> None: ...
    async def report(self, key: str | None = None) -> list[UsageRecord]: ...


def merged(records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """`records` summed by key and model, sorted by both."""
    sums: dict[tuple[str, str], list[int]] = {}
    for r in records:
        total = sums.setdefault((r.key, r.model), [0, 0, 0])
        total[0] += r.requests
        total[1] += r.input_tokens
        total[2] += r.output_tokens
    return [UsageRecord(k, m, *sums[k, m]) for k, m in sorted(sums)]


class WriteBehindLedger:
    """A `UsageLedger` whose `record` costs no I/O (see the module docstring)."""

    def __init__(self, backend: UsageBackend, *, retry_delay: float = RETRY_DELAY) -> None:
        self.backend = backend
        self._retry_delay = retry_delay
        self._pending: dict[tuple[str, str], list[int]] = {}
        self._lock = asyncio.Lock()  # a report reads the backend between writes, never during
        self._writer: asyncio.Task[None] | None = None
        self._failing = False

    def __repr__(self) -> str:
        return f"WriteBehindLedger({self.backend!r})"

    async def record(self, key: str, model: str, input_tokens: int, output_tokens: int) -> None:
        self.add(key, model, input_tokens, output_tokens)

    def add(self, key: str, model: str, input_tokens: int, output_tokens: int) -> None:
        """`record` without an await, for code that cannot wait (a stream's `finally`); needs a
        running event loop."""
        total = self._pending.get((key, model))
        if total is None:
            self._pending[key, model] = [1, input_tokens, output_tokens]
        else:
            total[0] += 1
            total[1] += input_tokens
            total[2] += output_tokens
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def report(self, key: str | None = None) -> list[UsageRecord]:
        """What the backend holds plus what this process has not written yet."""
        async with self._lock:
            stored = await self.backend.report(key)
            unwritten = [r for r in self._unwritten() if key in (None, r.key)]
        return merged([*stored, *unwritten])

    def _unwritten(self) -> list[UsageRecord]:
        return [UsageRecord(k, m, *total) for (k, m), total in self._pending.items()]

    async def _write(self) -> None:
        try:
            while self._pending:
                async with self._lock:
                    batch, self._pending = self._unwritten(), {}
                    try:
                        await self.backend.add(batch)
                    except StoreError as exc:
                        self._keep(batch, exc)
                    else:
                        if self._failing:
                            log.warning("usage is written to the store again")
                        self._failing = False
                if self._failing:
                    await asyncio.sleep(self._retry_delay)
        finally:
            self._writer = None

    def _keep(self, batch: list[UsageRecord], exc: StoreError) -> None:
        """`batch` back into the next one: the store failed to take it."""
        if not self._failing:
            log.warning("usage is kept in memory until the store is back: %s", exc)
        self._failing = True
        for r in batch:
            total = self._pending.setdefault((r.key, r.model), [0, 0, 0])
            total[0] += r.requests
            total[1] += r.input_tokens
            total[2] += r.output_tokens

    async def flush(self) -> None:
        """Waits until what was recorded is written (or the writer gave up for now)."""
        while self._writer is not None:
            await asyncio.wait([self._writer])

    async def aclose(self, timeout: float = 2.0) -> None:
        """Writes what is left, waiting at most `timeout` seconds, and not at all while the
        store is failing (a lost Redis loses it, and says so)."""
        writer = self._writer
        if writer is None:
            return
        done, _ = await asyncio.wait([writer], timeout=0 if self._failing else timeout)
        if not done:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            log.warning("usage of %d key/model pairs was not written", len(self._pending))


class SQLiteUsageBackend:
    """Usage in one SQLite file in the data folder, private to the user; each call in a worker
    thread, one transaction per batch."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = PrivateDatabase(self.path, _SCHEMA, "The usage ledger")

    def __repr__(self) -> str:
        return f"SQLiteUsageBackend({str(self.path)!r})"

    async def add(self, records: Iterable[UsageRecord]) -> None:
        rows = [(r.key, r.model, r.requests, r.input_tokens, r.output_tokens) for r in records]
        await anyio.to_thread.run_sync(self._add, rows)

    async def report(self, key: str | None = None) -> list[UsageRecord]:
        rows = await anyio.to_thread.run_sync(self._report, key)
        return [UsageRecord(*row) for row in rows]

    def close(self) -> None:
        self._db.close()

    def _add(self, rows: list[tuple[str, str, int, int, int]]) -> None:
        with self._db.transaction() as db:
            db.executemany(
                "INSERT INTO usage VALUES (?, ?, ?, ?, ?) ON CONFLICT (key, model) DO UPDATE SET "
                "requests = requests + excluded.requests, "
                "input_tokens = input_tokens + excluded.input_tokens, "
                "output_tokens = output_tokens + excluded.output_tokens",
                rows,
            )

    def _report(self, key: str | None) -> list[tuple[str, str, int, int, int]]:
        query = "SELECT key, model, requests, input_tokens, output_tokens FROM usage"
        with self._db.transaction() as db:
            if key is None:
                rows = db.execute(query + " ORDER BY key, model").fetchall()
            else:
                rows = db.execute(query + " WHERE key = ? ORDER BY model", (key,)).fetchall()
        return [tuple(row) for row in rows]
