"""What the emulator received and how each exchange ended, for tests to inspect.

Outcomes: "pending" while in flight, then "completed" (the response went out whole),
"disconnected" (the client went away first), "fault:<name>" (an injected fault shaped the
response), "rejected:<what>" (token, signature, json, body, directive, model, attachment, or the
storage's error code such as BadDigest) or "shutdown". Every route is recorded: chat, models,
the files metadata and the storage PUTs with their bodies.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import Directives

_SCOPE_KEY = "raycast_ai.emulator.record"


@dataclass(slots=True, eq=False)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    directives: Directives | None = None
    status: int | None = None
    outcome: str = "pending"
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class Recorder:
    """A thread-safe log of the last `limit` requests."""

    def __init__(self, limit: int = 10_000) -> None:
        self._requests: deque[RecordedRequest] = deque(maxlen=limit)
        self._changed = threading.Condition()

    def add(self, record: RecordedRequest) -> RecordedRequest:
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()
        return record

    def finish(self, record: RecordedRequest, outcome: str) -> None:
        with self._changed:
            record.outcome = outcome
            self._changed.notify_all()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._requests)

    @property
    def last(self) -> RecordedRequest | None:
        with self._changed:
            return self._requests[-1] if self._requests else None

    def for_path(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def clear(self) -> None:
        with self._changed:
            self._requests.clear()

    def __len__(self) -> int:
        with self._changed:
            return len(self._requests)

    def wait_for(
        self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Blocks until `predicate(requests)` holds; call it from outside the server's loop."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                snapshot = list(self._requests)
                if predicate(snapshot):
                    return snapshot
                left = deadline - time.monotonic()
                if left <= 0:
                    summary = [(r.method, r.path, r.outcome) for r in snapshot[-5:]]
                    raise TimeoutError(
                        f"The emulator's requests did not match within {timeout:g} s; "
                        f"the last ones were {summary}."
                    )
                self._changed.wait(left)

    def wait_for_outcome(self, outcome: str, timeout: float = 5.0) -> RecordedRequest:
        """Waits until the latest request ended with `outcome`, and returns it."""
        found = self.wait_for(lambda rs: bool(rs) and rs[-1].outcome == outcome, timeout)
        return found[-1]


def record_of(scope: Scope) -> RecordedRequest:
    record: RecordedRequest = scope[_SCOPE_KEY]
    return record


class RecordingMiddleware:
    """Pure ASGI: reads each request body whole, records it, and replays it to the app."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []
        gone = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
                break
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        record = self.recorder.add(
            RecordedRequest(
                method=scope["method"],
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=_headers(scope),
                body=body,
            )
        )
        if gone:
            self.recorder.finish(record, "disconnected")
            return
        scope[_SCOPE_KEY] = record
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def watch_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        try:
            await self.app(scope, replay, watch_status)
        except Exception as exc:
            if record.outcome == "pending":
                self.recorder.finish(record, f"error:{type(exc).__name__}")
            raise
        if record.outcome == "pending":
            self.recorder.finish(record, "completed")


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
