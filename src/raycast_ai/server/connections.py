"""The gateway's HTTP connections, guarded against clients that hold them hostage.

uvicorn's httptools protocol buffers a request head of any size (a 128 MiB header took 25 s of
the event loop), waits forever for a head or a body that trickles in, keeps a connection that
never sends a byte, and lets a client that stops reading hold its stream open. This subclass
bounds each of those, on the connection itself: nothing costs a task or a timer per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .settings import ConnectionLimits

log = logging.getLogger("raycast_ai.server")

# 128 KiB added 0.7 ms to the time to first token at 500 streams (bench/gateway.py).
SEND_BUFFER = 512 * 1024
FD_RESERVE = 64  # descriptors kept for the store, logs and upstream connections beyond 1 each


def connection_cap(wanted: int | None) -> int:
    """`wanted`, else as many connections as the descriptor limit allows: it is raised to the
    hard limit first, and each connection may need a second descriptor upstream."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
    except ImportError:  # Windows
        soft = 8192
    fits = max(16, (soft - FD_RESERVE) // 2)
    return fits if wanted is None else min(wanted, fits)


def guarded_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The protocol class for one server: its limits, and its connections oldest first."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits, "opened": {}})


def _error_body(status: int, message: str, code: str) -> bytes:
    kind = "invalid_request_error" if status < 500 else "server_error"
    error = {"message": message, "type": kind, "param": None, "code": code}
    return json.dumps({"error": error}).encode()


class _Refused(Exception):
    pass


class HeadWithBody:
    """One response's view of its connection's transport: its first write (the response head)
    waits for the next one, or for the end of this turn of the loop, and both go out as one.

    A streamed answer's head and first events then cost the client one read and the gateway one
    syscall, not two of each (before the time to first token, and per request at 500 streams).
    Writes after the first go straight to the transport, so what it buffers, and its flow
    control, are as before.
    """

    __slots__ = ("_held", "_loop", "_transport", "write")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self.write = self._hold

    def _hold(self, data: bytes) -> None:
        self._held = bytes(data)
        self.write = self._with_held
        self._loop.call_soon(self._flush)

    def _with_held(self, data: bytes) -> None:
        held, self._held = self._held, None
        self.write = self._transport.write
        self._transport.write(data if held is None else held + data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self.write = self._transport.write
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _reason(exc: Exception) -> str:
    """httptools' reason, printable and short (it can quote the client's bytes)."""
    text = "".join(c if c.isprintable() else "?" for c in str(exc)[:100])
    return text.rstrip(".") + "." if text else "not HTTP/1.1."


class GuardedProtocol(HttpToolsProtocol):
    limits = ConnectionLimits()
    opened: ClassVar[dict[GuardedProtocol, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_bytes = 0
        self.in_head = True
        self.busy = False  # a request's head arrived and its response is not complete
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None
        self.write_timer: asyncio.TimerHandle | None = None
        self.body_seen = 0.0
        self.refused = False

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # The kernel would otherwise buffer megabytes for a client that reads slowly
            # (autotuned up to tcp_wmem's maximum), and the upstream would be read on meanwhile.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.opened[self] = None
        cap = self.limits.max_connections
        if cap is not None and len(self.connections) > cap and not self._evict_idle():
            self.refuse(503, "The gateway has too many open connections; retry shortly.", "busy")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        self.opened.pop(self, None)
        super().connection_lost(exc)

    def _evict_idle(self) -> bool:
        """Closes the oldest connection that has no request in progress."""
        for other in self.opened:
            if other is not self and not other.busy:
                other.transport.close()
                self.connections.discard(other)
                self.opened.pop(other)
                return True
        return False

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with the head counted, and malformed requests answered as `refuse` does
        (one log line, OpenAI's error shape)."""
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if self.in_head:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            self.refuse(400, f"Malformed HTTP request: {_reason(exc)}", "invalid_http")
            return
        if self.in_head and self.head_bytes > self.limits.max_head_bytes:
            self._too_large()

    def _too_large(self) -> None:
        limit = self.limits.max_head_bytes // 1024
        self.refuse(431, f"The request line and headers exceed {limit} KiB.", "headers_too_large")

    def refuse(self, status: int, message: str, code: str) -> None:
        """Answers in OpenAI's error shape and closes; one log line per refused client."""
        if self.refused:
            return
        self.refused = True
        log.warning("refused %s: %d %s", self.peer, status, message)
        self._cancel_timers()
        self.in_head = False
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        body = _error_body(status, message, code)
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()

    @property
    def peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"

    def send_400_response(self, msg: str) -> None:
        self.refuse(400, msg, "invalid_http")

    # httptools callbacks

    def on_headers_complete(self) -> None:
        before = self.cycle
        size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
        if size > self.limits.max_head_bytes:  # it came in one read
            self._too_large()
            raise _Refused  # stops the parser: the rest of this read is not a request
        self.in_head = False
        self.busy = True
        self.head_bytes = 0
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not before:
            self.cycle.transport = HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]
        if not self.transport.is_closing():
            self.body_seen = self.loop.time()
            self.body_timer = self.loop.call_later(self.limits.body_timeout, self._body_late)

    def on_body(self, body: bytes) -> None:
        self.body_seen = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None
        self.in_head = True  # what follows is the next request's head
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.busy = False
        super().on_response_complete()
        if not self.transport.is_closing() and self.head_timer is None:
            self._arm_head_timer()

    # Flow control: a client that leaves the buffer full is dropped after `write_timeout`.

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.write_timer is None:
            self.write_timer = self.loop.call_later(self.limits.write_timeout, self._stuck)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.write_timer is not None:
            self.write_timer.cancel()
            self.write_timer = None

    # Timers

    def _arm_head_timer(self) -> None:
        self.head_bytes = 0
        self.in_head = True
        self.head_timer = self.loop.call_later(self.limits.head_timeout, self._head_late)

    def _cancel_timers(self) -> None:
        for name in ("head_timer", "body_timer", "write_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    def _head_late(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or self.busy:
            return
        if self.head_bytes == 0:
            self.transport.close()  # an idle connection: nothing to answer
            return
        late = self.limits.head_timeout
        self.refuse(408, f"The request headers did not arrive within {late:g} s.", "timeout")

    def _body_late(self) -> None:
        self.body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        quiet = self.loop.time() - self.body_seen
        if quiet < self.limits.body_timeout or self.flow.read_paused:
            self.body_timer = self.loop.call_later(
                self.limits.body_timeout - quiet if quiet < self.limits.body_timeout else 1.0,
                self._body_late,
            )
            return
        late = self.limits.body_timeout
        self.refuse(408, f"The request body stopped arriving for {late:g} s.", "timeout")

    def _stuck(self) -> None:
        self.write_timer = None
        log.warning("dropped %s: it read nothing for %g s", self.peer, self.limits.write_timeout)
        self.transport.abort()
