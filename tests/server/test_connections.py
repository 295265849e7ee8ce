"""The response's view of its connection: the head leaves with the first body, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from raycast_ai.server.connections import HeadWithBody

pytestmark = pytest.mark.anyio


class Recorder:
    """A transport that records what is written and whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closing, "written after close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name)


def _view() -> tuple[Recorder, HeadWithBody]:
    recorder = Recorder()
    return recorder, HeadWithBody(recorder, asyncio.get_running_loop())  # type: ignore[arg-type]


async def test_the_head_and_the_first_body_leave_in_one_write_then_writes_pass_straight() -> None:
    recorder, view = _view()
    view.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert recorder.writes == []
    view.write(b"data: 1\n\n")
    view.write(b"data: 2\n\n")
    assert recorder.writes == [b"HTTP/1.1 200 OK\r\n\r\ndata: 1\n\n", b"data: 2\n\n"]
    await asyncio.sleep(0)  # the end of the turn adds nothing
    assert len(recorder.writes) == 2


async def test_a_head_with_no_body_this_turn_leaves_alone_on_the_next() -> None:
    recorder, view = _view()
    view.write(b"HTTP/1.1 200 OK\r\n\r\n")
    await asyncio.sleep(0)
    assert recorder.writes == [b"HTTP/1.1 200 OK\r\n\r\n"]
    view.write(b"data: 1\n\n")
    assert recorder.writes == [b"HTTP/1.1 200 OK\r\n\r\n", b"data: 1\n\n"]


async def test_close_sends_the_held_head_first_and_abort_drops_it() -> None:
    recorder, view = _view()
    view.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    view.close()
    assert recorder.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"] and recorder.closing
    await asyncio.sleep(0)
    assert len(recorder.writes) == 1

    recorder, view = _view()
    view.write(b"HTTP/1.1 200 OK\r\n\r\n")
    view.abort()
    await asyncio.sleep(0)
    assert recorder.writes == [] and recorder.aborted


async def test_a_connection_closed_under_a_held_head_gets_nothing_more() -> None:
    recorder, view = _view()
    view.write(b"HTTP/1.1 200 OK\r\n\r\n")
    recorder.close()  # the client went away, or the connection was refused meanwhile
    await asyncio.sleep(0)
    assert recorder.writes == []
    assert view.is_closing() and view.get_extra_info("peername") == ("127.0.0.1", 1)
