"""The write-behind store: `put` answers before the backend has written, reads see the write
at once, a delete never loses to a late write, `aclose` waits, a failed write is only logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from raycast_ai.store import StoredResponse, StoreError
from raycast_ai.store.write_behind import WriteBehindStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the gateway's loop


class SlowStore:
    """A backend whose writes wait for `release`."""

    def __init__(self, *, fail: bool = False) -> None:
        self.rows: dict[str, StoredResponse] = {}
        self.release = asyncio.Event()
        self.fail = fail

    async def get(self, response_id: str) -> StoredResponse | None:
        return self.rows.get(response_id)

    async def put(self, response_id: str, stored: StoredResponse) -> None:
        await self.release.wait()
        if self.fail:
            raise StoreError("the disk is full")
        self.rows[response_id] = stored

    async def delete(self, response_id: str) -> bool:
        return self.rows.pop(response_id, None) is not None


ANSWER = StoredResponse({"id": "resp_1", "output": []}, [{"role": "user", "content": "hi"}])


async def test_put_answers_at_once_and_reads_see_it() -> None:
    backend = SlowStore()
    store = WriteBehindStore(backend)
    await asyncio.wait_for(store.put("resp_1", ANSWER), 0.5)  # the backend is still blocked
    assert backend.rows == {}
    assert await store.get("resp_1") == ANSWER
    backend.release.set()
    await store.aclose()
    assert backend.rows == {"resp_1": ANSWER}
    assert await store.get("resp_1") == ANSWER


async def test_a_delete_waits_for_the_write_it_would_otherwise_lose_to() -> None:
    backend = SlowStore()
    store = WriteBehindStore(backend)
    await store.put("resp_1", ANSWER)
    deleting = asyncio.ensure_future(store.delete("resp_1"))
    await asyncio.sleep(0.01)
    assert not deleting.done()
    backend.release.set()
    assert await deleting is True
    await store.aclose()
    assert await store.get("resp_1") is None


async def test_a_failed_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    backend = SlowStore(fail=True)
    store = WriteBehindStore(backend)
    await store.put("resp_1", ANSWER)
    backend.release.set()
    with caplog.at_level(logging.ERROR, logger="raycast_ai.store"):
        await store.aclose()
    assert "storing 1 responses (resp_1) failed" in caplog.text
    assert await store.get("resp_1") is None  # not kept in memory forever either


async def test_a_burst_is_written_in_few_backend_calls() -> None:
    calls: list[int] = []

    class Batching(SlowStore):
        async def put_many(self, entries: dict[str, StoredResponse]) -> None:
            calls.append(len(entries))
            await self.release.wait()
            self.rows.update(entries)

    backend = Batching()
    store = WriteBehindStore(backend)
    for i in range(300):
        await store.put(f"resp_{i}", ANSWER)
        if i == 0:
            await asyncio.sleep(0)  # the writer takes the first one alone
    backend.release.set()
    await store.aclose()
    assert calls == [1, 299]
    assert len(backend.rows) == 300
