"""The async client: `_sync.py`'s mirror, awaiting where that one blocks."""

from __future__ import annotations

import contextlib
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Mapping,
    Sequence,
)
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx2

from raycast_ai.config import Settings
from raycast_ai.protocol.attempt import GiveUp
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.completion import Collector, Completion
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.transport.base import AsyncTransport
from raycast_ai.transport.http1 import KEEPALIVE_EXPIRY, Http1Transport
from raycast_ai.transport.httpx import AsyncHttpxTransport
from raycast_ai.transport.tls import ssl_context

from ._catalog import DEFAULT_MODELS_TTL
from ._core import (
    TRANSPORT_ERRORS,
    Core,
    Failed,
    Prepared,
    TimeoutLike,
    chat_options,
    give_up,
)

T = TypeVar("T")


class AsyncRaycastClient:
    """The async twin of `RaycastClient`, with the same arguments; use it with `async with`.

    Without a `proxy` or a `transport` of its own it talks HTTP/1.1 through `Http1Transport`,
    which costs a fraction of httpx2's transport per request; `limits` sizes its pool.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        signing_secret: str | None = None,
        device_id: str | None = None,
        base_url: str | None = None,
        home: str | Path | None = None,
        ca_bundle: str | None = None,
        verify: bool = True,
        settings: Settings | None = None,
        timeout: TimeoutLike = None,
        max_retries: int = 2,
        models_ttl: float = DEFAULT_MODELS_TTL,
        aliases: Mapping[str, str] | None = None,
        proxy: str | None = None,
        limits: httpx2.Limits | None = None,
        transport: AsyncTransport | httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._core = Core(
            token=token,
            signing_secret=signing_secret,
            device_id=device_id,
            base_url=base_url,
            home=home,
            ca_bundle=ca_bundle,
            settings=settings,
            timeout=timeout,
            max_retries=max_retries,
            models_ttl=models_ttl,
            aliases=aliases,
        )
        self._sleep = sleep
        self._models_lock = anyio.Lock()
        if transport is None or isinstance(transport, httpx2.AsyncBaseTransport):
            verify_with = ssl_context(verify, self._core.settings.ca_bundle)
            if transport is None and proxy is None:
                transport = _http1(verify_with, limits)
            else:
                transport = AsyncHttpxTransport(
                    transport=transport, proxy=proxy, verify=verify_with, limits=limits
                )
        self._transport: AsyncTransport = transport

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @property
    def signed(self) -> bool:
        return self._core.signed

    @property
    def aliases(self) -> Mapping[str, str]:
        """Model names of the user's own, over the built-in ones (`protocol.catalog.ALIASES`)."""
        return self._core.aliases

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def models(self, *, refresh: bool = False) -> Catalog:
        cached = None if refresh else self._core.catalogs.get()
        if cached is not None:
            return cached
        seen = self._core.catalogs.stamp
        async with self._models_lock:  # a burst of first requests fetches the list once
            current = self._core.catalogs.current
            if current is not None and self._core.catalogs.stamp != seen:
                return current
            async with contextlib.aclosing(self._attempts(self._fetch_models)) as catalogs:
                return await anext(catalogs)

    def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        options: ChatOptions | None = None,
        timeout: TimeoutLike = None,
        **changes: Any,
    ) -> AsyncChatStream:
        """Typed events as they arrive: `async with client.stream(...) as events`.

        The catalog lookup and the request start when the stream is entered, awaited, or
        first iterated; errors of the request (an unknown model, no token) are raised there.
        """
        chosen = chat_options(options, changes)
        return AsyncChatStream(self._start(messages, model, chosen, timeout))

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        options: ChatOptions | None = None,
        timeout: TimeoutLike = None,
        **changes: Any,
    ) -> Completion:
        collector = Collector()
        stream = self.stream(messages, model, options=options, timeout=timeout, **changes)
        async with stream as events:
            async for event in events:
                collector.add(event)
        return collector.result(events.model.id)

    async def _start(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None,
        options: ChatOptions,
        timeout: TimeoutLike,
    ) -> tuple[ModelEntry, AsyncIterator[list[Event]]]:
        catalog = await self.models()
        if self._core.catalogs.stale_for(catalog, model, self._core.aliases):
            catalog = await self.models(refresh=True)
        prepared = self._core.prepare(catalog, messages, model, options, timeout)
        return prepared.model, self._attempts(lambda: self._chat(prepared))

    async def _attempts(
        self, once: Callable[[], AsyncGenerator[T, None]]
    ) -> AsyncGenerator[T, None]:
        """What `once` yields, sending it again while the retry policy says to."""
        attempt, started = 0, time.monotonic()
        while True:
            delivered = False
            try:
                async with contextlib.aclosing(once()) as items:
                    async for item in items:
                        delivered = True
                        yield item
                return
            except Failed as failed:
                decision = self._core.decide(attempt, failed, delivered, started)
                if isinstance(decision, GiveUp):
                    give_up(decision, failed)
            await self._sleep(decision.delay)
            attempt += 1

    async def _fetch_models(self) -> AsyncGenerator[Catalog, None]:
        try:
            response = await self._transport.send(self._core.models_request())
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except TRANSPORT_ERRORS as exc:
            raise self._core.failed(exc, None, False) from exc
        yield self._core.catalog(response.status_code, response.headers, body)

    async def _chat(self, prepared: Prepared) -> AsyncGenerator[list[Event], None]:
        """One attempt: the events of each network read, in one list."""
        parser = self._core.parser(prepared)
        delivered = False
        try:
            response = await self._transport.send(self._core.chat_request(prepared))
            try:
                if response.status_code != 200:
                    status, headers = response.status_code, response.headers
                    raise self._core.status_failed(status, headers, await response.aread())
                async for data in response.aiter_bytes():
                    if events := parser.feed(data):
                        delivered = True
                        yield events
                parser.end()
            finally:
                await response.aclose()
        except (*TRANSPORT_ERRORS, RaycastError) as exc:
            raise self._core.failed(exc, parser, delivered) from exc


class AsyncChatStream:
    """The events of one answer; `aclose()` (or leaving its `async with`) closes the HTTP
    response. Entering it, awaiting it or iterating it starts the request.

    `batches()` gives them a network read at a time instead, starting with whatever iterating
    has not taken yet: a consumer that forwards them handles a burst at once.
    """

    __slots__ = ("_model", "_pending", "_source", "_start")

    def __init__(
        self, start: Awaitable[tuple[ModelEntry, AsyncIterator[list[Event]]]] | None = None
    ) -> None:
        self._start = start
        self._model: ModelEntry | None = None
        self._source: AsyncIterator[list[Event]] | None = None
        self._pending: list[Event] = []  # the rest of the current batch, last event first

    @classmethod
    def from_batches(cls, model: ModelEntry, batches: AsyncIterator[list[Event]]) -> Self:
        """A stream already started, over `batches`."""
        stream = cls()
        stream._model, stream._source = model, batches
        return stream

    @property
    def model(self) -> ModelEntry:
        """The catalog entry answering; known once the stream has started."""
        if self._model is None:
            raise RuntimeError("The stream has not started: enter, await or iterate it first.")
        return self._model

    async def started(self) -> Self:
        """Starts the request if it has not started yet."""
        if self._source is None:
            if self._start is None:
                raise RuntimeError("The stream was closed before it started.")
            start, self._start = self._start, None
            self._model, self._source = await start
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        return self.started().__await__()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        pending = self._pending
        while not pending:
            source = self._source or (await self.started())._source
            assert source is not None
            batch = await anext(source)
            if len(batch) == 1:
                return batch[0]
            pending = self._pending = batch[::-1]
        return pending.pop()

    async def batches(self) -> AsyncIterator[list[Event]]:
        source = self._source or (await self.started())._source
        assert source is not None
        if self._pending:
            pending, self._pending = self._pending[::-1], []
            yield pending
        async for batch in source:
            yield batch

    async def __aenter__(self) -> Self:
        return await self.started()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._start is not None:
            start, self._start = self._start, None
            close = getattr(start, "close", None)
            if close is not None:  # a coroutine never awaited
                close()
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


def _http1(verify: Any, limits: httpx2.Limits | None) -> Http1Transport:
    limits = limits or httpx2.Limits(max_connections=None, max_keepalive_connections=100)
    idle, expiry = limits.max_keepalive_connections, limits.keepalive_expiry
    return Http1Transport(
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=1 << 30 if idle is None else idle,
        # Never longer than its own: a server's keep-alive is commonly 5 s.
        keepalive_expiry=KEEPALIVE_EXPIRY if expiry is None else min(expiry, KEEPALIVE_EXPIRY),
    )
