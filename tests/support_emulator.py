"""Helpers for the client and provider tests against the emulator on a real loopback socket.

`Harness` drives a `RaycastClient` or an `AsyncRaycastClient` through one async interface, so a
test parametrized over both runs the same steps on each; the sync client simply blocks (the
emulator serves from its own thread). Every prompt carries a per-test nonce, so a test finds its
own requests in the emulator's recorder even though the server is shared.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raycast_ai import (
    AsyncRaycastClient,
    Catalog,
    Completion,
    Event,
    RaycastClient,
    RaycastError,
    TextDelta,
    Timeout,
)
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.recorder import RecordedRequest
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

KINDS = ("sync", "async")
ENV_VARS = (
    "RAYCAST_TOKEN",
    "RAYCAST_SIGNING_SECRET",
    "RAYCAST_DEVICE_ID",
    "RAYCAST_BASE_URL",
    "RAYCAST_AI_HOME",
)
# Long enough for every paced answer here, short enough that a hang fails fast.
TIMEOUT = Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)
DEFAULT_MODEL_ID = "openai-gpt-4o-mini"
DEFAULT_CHUNKS = 12  # EmulatorConfig().chunks


def new_nonce() -> str:
    return f"n{uuid.uuid4().hex[:10]}"


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def chat_requests(server: EmulatorServer, nonce: str) -> list[RecordedRequest]:
    """The chat requests whose body carries `nonce`, oldest first."""
    return [r for r in server.recorder.requests if r.path == CHAT_PATH and nonce.encode() in r.body]


def settled_outcomes(server: EmulatorServer, nonce: str, timeout: float = 2.0) -> list[str]:
    """The outcomes of this test's chat requests once none is in flight any more: the client
    can finish reading before the emulator's handler returns and records "completed"."""

    def settled(requests: list[RecordedRequest]) -> bool:
        return all(
            r.outcome != "pending"
            for r in requests
            if r.path == CHAT_PATH and nonce.encode() in r.body
        )

    server.recorder.wait_for(settled, timeout)
    return [r.outcome for r in chat_requests(server, nonce)]


def wait_for_outcome(
    server: EmulatorServer, nonce: str, outcome: str, timeout: float
) -> RecordedRequest:
    """Blocks until this test's latest chat request ended with `outcome`."""

    def done(requests: list[RecordedRequest]) -> bool:
        mine = [r for r in requests if r.path == CHAT_PATH and nonce.encode() in r.body]
        return bool(mine) and mine[-1].outcome == outcome

    server.recorder.wait_for(done, timeout)
    return chat_requests(server, nonce)[-1]


@dataclass
class Attempt:
    """How one streamed request ended: the events that arrived, and the error if any."""

    events: list[Event]
    error: RaycastError | None
    elapsed: float

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))


@dataclass
class Harness:
    kind: str
    client: RaycastClient | AsyncRaycastClient
    sleeps: list[float] = field(default_factory=list)

    async def complete(
        self, messages: Sequence[Mapping[str, Any]], model: str | None = None, **kwargs: Any
    ) -> Completion:
        if isinstance(self.client, RaycastClient):
            return self.client.complete(messages, model, **kwargs)
        return await self.client.complete(messages, model, **kwargs)

    async def attempt(
        self, messages: Sequence[Mapping[str, Any]], model: str | None = None, **kwargs: Any
    ) -> Attempt:
        """Streams the request to its end and keeps the events that came before any error."""
        events: list[Event] = []
        started = time.monotonic()
        try:
            if isinstance(self.client, RaycastClient):
                with self.client.stream(messages, model, **kwargs) as stream:
                    events.extend(stream)
            else:
                async with await self.client.stream(messages, model, **kwargs) as astream:
                    async for event in astream:
                        events.append(event)
        except RaycastError as exc:
            return Attempt(events, exc, time.monotonic() - started)
        return Attempt(events, None, time.monotonic() - started)

    async def read_then_close(
        self, messages: Sequence[Mapping[str, Any]], texts: int, *, drop: bool = False
    ) -> list[str]:
        """Reads `texts` text pieces, breaks out of the loop and closes the stream (sync with
        `drop` True: just lets go of it, as code that breaks out of a bare `for` does)."""
        got: list[str] = []
        if isinstance(self.client, RaycastClient):
            stream = self.client.stream(messages)
            for event in stream:
                if isinstance(event, TextDelta):
                    got.append(event.text)
                    if len(got) == texts:
                        break
            if drop:
                del stream  # CPython frees it now; the generator's finally closes the response
            else:
                stream.close()
            return got
        astream = await self.client.stream(messages)
        async for event in astream:
            if isinstance(event, TextDelta):
                got.append(event.text)
                if len(got) == texts:
                    break
        await astream.aclose()
        return got

    async def models(self, *, refresh: bool = False) -> Catalog:
        if isinstance(self.client, RaycastClient):
            return self.client.models(refresh=refresh)
        return await self.client.models(refresh=refresh)

    async def close(self) -> None:
        if isinstance(self.client, RaycastClient):
            self.client.close()
        else:
            await self.client.aclose()


def make_harness(kind: str, server: EmulatorServer, home: Path, **changes: Any) -> Harness:
    """A client of `kind` for the emulator, with recorded (instant) sleeps and no retries unless
    `changes` say otherwise."""
    sleeps: list[float] = []
    options: dict[str, Any] = {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": server.base_url,
        "home": home,
        "timeout": TIMEOUT,
        "max_retries": 0,
        **changes,
    }
    if kind == "sync":
        client: RaycastClient | AsyncRaycastClient = RaycastClient(sleep=sleeps.append, **options)
    else:

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        client = AsyncRaycastClient(sleep=sleep, **options)
    return Harness(kind, client, sleeps)


MakeHarness = Callable[..., Harness]
