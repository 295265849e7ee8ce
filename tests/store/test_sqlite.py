"""The embedded response store: round trips, expiry, the size cap, deletes, a private file."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import anyio
import pytest

from raycast_ai.store import ResponseStore, SQLiteResponseStore, StoredResponse, StoreError

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def stored(id: str, text: str = "hi") -> StoredResponse:
    return StoredResponse(
        {"id": id, "object": "response", "output": [{"type": "message", "text": text}]},
        [{"role": "user", "content": f"é {text}"}],
    )


async def test_round_trip_and_delete(tmp_path: Path) -> None:
    store: ResponseStore = SQLiteResponseStore(tmp_path / "data" / "responses.sqlite3")
    assert await store.get("resp_1") is None
    await store.put("resp_1", stored("resp_1"))
    assert await store.get("resp_1") == stored("resp_1")
    # Another instance (another worker) reads the same file.
    assert await SQLiteResponseStore(tmp_path / "data" / "responses.sqlite3").get("resp_1")
    assert await store.delete("resp_1")
    assert not await store.delete("resp_1")
    assert await store.get("resp_1") is None


async def test_the_file_and_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "responses.sqlite3"
    await SQLiteResponseStore(path).put("resp_1", stored("resp_1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700 & ~_umask()


async def test_expired_responses_read_as_unknown_and_are_purged(tmp_path: Path) -> None:
    clock = Clock()
    store = SQLiteResponseStore(tmp_path / "r.sqlite3", ttl=60, clock=clock)
    await store.put("resp_old", stored("resp_old"))
    clock.now += 61
    assert await store.get("resp_old") is None
    assert not await store.delete("resp_old")
    await store.put("resp_new", stored("resp_new"))
    clock.now -= 61  # the old row is gone for good, not just hidden
    assert await store.get("resp_old") is None


async def test_past_the_size_cap_the_oldest_go_first(tmp_path: Path) -> None:
    clock = Clock()
    one = len(repr(stored("resp_0", "x" * 200)))  # a little over each row's JSON
    store = SQLiteResponseStore(tmp_path / "r.sqlite3", max_bytes=3 * one, clock=clock)
    for n in range(5):
        clock.now += 1
        await store.put(f"resp_{n}", stored(f"resp_{n}", "x" * 200))
    kept = [n for n in range(5) if await store.get(f"resp_{n}") is not None]
    assert kept == [2, 3, 4]


async def test_put_replaces(tmp_path: Path) -> None:
    store = SQLiteResponseStore(tmp_path / "r.sqlite3")
    await store.put("resp_1", stored("resp_1", "a"))
    await store.put("resp_1", stored("resp_1", "b"))
    assert await store.get("resp_1") == stored("resp_1", "b")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


async def test_the_running_total_matches_the_rows(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "r.sqlite3"
    store = SQLiteResponseStore(path, ttl=100, max_bytes=2_000, clock=clock)
    for n in range(12):
        clock.now += 20
        await store.put(f"resp_{n % 5}", stored(f"resp_{n % 5}", "y" * (n * 30)))
        if n % 4 == 0:
            await store.delete(f"resp_{(n + 2) % 5}")
        with sqlite3.connect(path) as db:
            (total,) = db.execute("SELECT value FROM totals").fetchone()
            (rows,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM responses").fetchone()
        assert total == rows <= 2_000
    for sidecar in path.parent.glob("r.sqlite3*"):
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, sidecar


async def test_close_then_use_again(tmp_path: Path) -> None:
    store = SQLiteResponseStore(tmp_path / "r.sqlite3")
    await store.put("resp_1", stored("resp_1"))
    store.close()
    store.close()
    assert await store.get("resp_1") == stored("resp_1")
    store.close()


async def test_a_burst_of_writes_commits_in_a_few_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: 200 answers finishing together must not queue 200 transactions."""
    store = SQLiteResponseStore(tmp_path / "responses.sqlite3")
    transactions: list[int] = []
    write = store._put_all

    def counted(entries: dict[str, StoredResponse]) -> None:
        transactions.append(len(entries))
        write(entries)

    monkeypatch.setattr(store, "_put_all", counted)
    async with anyio.create_task_group() as group:
        for i in range(200):
            group.start_soon(store.put, f"resp_{i}", stored(f"resp_{i}", str(i)))
    assert sum(transactions) == 200
    assert len(transactions) <= 3
    reopened = SQLiteResponseStore(tmp_path / "responses.sqlite3")
    for i in (0, 99, 199):
        assert await reopened.get(f"resp_{i}") == stored(f"resp_{i}", str(i))


async def test_a_failed_transaction_fails_every_put_in_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    store = SQLiteResponseStore(blocker / "responses.sqlite3")
    failures: list[str] = []

    async def put(i: int) -> None:
        try:
            await store.put(f"resp_{i}", stored(f"resp_{i}"))
        except StoreError as exc:
            failures.append(str(exc))

    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(put, i)
    assert len(failures) == 20
    assert all("The response store" in f for f in failures)
