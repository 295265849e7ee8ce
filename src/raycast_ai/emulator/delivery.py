"""Writing a planned response to an ASGI connection, with pauses, deliberate connection aborts,
client-disconnect detection and a shutdown that ends every open stream at once.

A plan is a list of byte strings, `Pause`s and `ABORT`. Bytes between two pauses are written in
pieces of up to 64 KiB, not one send per event, so long streams cost few syscalls. Headers go out
with the first bytes, so a plan that opens with a pause sends nothing at all while it waits.
An abort raises `ConnectionAbort` once the response has started; uvicorn then closes the socket
mid-body. uvicorn logs such exceptions with a traceback: `quiet_aborts()` filters those records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import anyio
from starlette.types import Message, Receive, Send

PIECE_SIZE = 64 * 1024
SSE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
)


class ConnectionAbort(Exception):
    """Raised to the ASGI server on purpose, so that it drops the connection."""


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


class Abort:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABORT"


ABORT = Abort()
Item = bytes | Pause | Abort


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole response: status, headers, body items, and the outcome to record if it all goes."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    items: Sequence[Item]
    outcome: str = "completed"


@dataclass(frozen=True, slots=True)
class Delivered:
    outcome: str
    abort: bool = False


def json_plan(
    status: int,
    body: bytes,
    outcome: str = "completed",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> Plan:
    head = (
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    )
    return Plan(status, head, (body,), outcome)


def sse_plan(items: Sequence[Item], outcome: str = "completed") -> Plan:
    return Plan(200, SSE_HEADERS, items, outcome)


class Closing:
    """Cancels every open stream at once, from the server's loop or any other thread."""

    def __init__(self) -> None:
        self.closed = False
        self._scopes: set[anyio.CancelScope] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.contextmanager
    def track(self, scope: anyio.CancelScope) -> Iterator[None]:
        self._loop = asyncio.get_running_loop()
        if self.closed:
            scope.cancel()
        self._scopes.add(scope)
        try:
            yield
        finally:
            self._scopes.discard(scope)

    def open(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._cancel_all()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        for scope in list(self._scopes):
            scope.cancel()


class _Writer:
    __slots__ = ("_buffer", "_plan", "_send", "_size", "done", "started")

    def __init__(self, plan: Plan, send: Send) -> None:
        self._plan = plan
        self._send = send
        self._buffer: list[bytes] = []
        self._size = 0
        self.started = False
        self.done = False

    async def run(self) -> bool:
        """Writes the plan; True when it ends in an abort."""
        for item in self._plan.items:
            if isinstance(item, bytes):
                self._buffer.append(item)
                self._size += len(item)
                if self._size >= PIECE_SIZE:
                    await self._flush(whole=False)
            elif isinstance(item, Pause):
                await self._flush(whole=True)
                await anyio.sleep(item.seconds)
            else:
                await self._flush(whole=True)
                await self._start()
                return True
        data = b"".join(self._buffer)
        pieces = [data[at : at + PIECE_SIZE] for at in range(0, len(data), PIECE_SIZE)] or [b""]
        await self._start()
        for piece in pieces[:-1]:
            await self._body(piece)
        self.done = True
        await self._send({"type": "http.response.body", "body": pieces[-1], "more_body": False})
        return False

    async def _start(self) -> None:
        if not self.started:
            self.started = True
            start: Message = {
                "type": "http.response.start",
                "status": self._plan.status,
                "headers": list(self._plan.headers),
            }
            await self._send(start)

    async def _body(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def _flush(self, *, whole: bool) -> None:
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        end = len(data) if whole else len(data) - len(data) % PIECE_SIZE
        self._buffer = [data[end:]] if end < len(data) else []
        self._size = len(data) - end
        await self._start()
        for at in range(0, end, PIECE_SIZE):
            await self._body(data[at : at + PIECE_SIZE])


async def deliver(plan: Plan, receive: Receive, send: Send, closing: Closing) -> Delivered:
    """Writes the plan and says how it ended: its own outcome, "disconnected" or "shutdown"."""
    writer = _Writer(plan, send)
    if len(plan.items) <= 1:  # a short single write: nothing to watch for
        aborted = await writer.run()
        return Delivered(plan.outcome, abort=aborted)
    disconnected = False
    aborted = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal disconnected
            while (await receive())["type"] != "http.disconnect":
                pass
            if not writer.done:
                disconnected = True
                group.cancel_scope.cancel()

        group.start_soon(watch)
        with closing.track(group.cancel_scope):
            aborted = await writer.run()
        group.cancel_scope.cancel()
    if disconnected:
        return Delivered("disconnected")
    if not writer.done and not aborted:
        return Delivered("shutdown", abort=True)
    return Delivered(plan.outcome, abort=aborted)


class _AbortLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _is_abort(record.exc_info[1] if record.exc_info else None)


def _is_abort(exc: BaseException | None) -> bool:
    if isinstance(exc, ConnectionAbort):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_abort(e) for e in exc.exceptions)
    return False


def quiet_aborts(logger_name: str = "uvicorn.error") -> None:
    """Drops the server's traceback records for deliberate aborts (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _AbortLogFilter) for f in logger.filters):
        logger.addFilter(_AbortLogFilter())
