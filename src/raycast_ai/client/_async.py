"""The async client: `_sync.py`'s mirror, awaiting where that one blocks."""

from __future__ import annotations

import contextlib
import functools
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

from raycast_ai.attachments import Attachment
from raycast_ai.config import Settings
from raycast_ai.protocol.attempt import GiveUp
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.completion import Collector, Completion
from raycast_ai.protocol.credits import CREDITS_PATH, ME_PATH, Credits
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.protocol.structured import Ask, StructuredRun, with_parsed
from raycast_ai.transport.base import AsyncTransport, Request
from raycast_ai.transport.http1 import KEEPALIVE_EXPIRY, Http1Transport
from raycast_ai.transport.httpx import AsyncHttpxTransport
from raycast_ai.transport.tls import ssl_context

from ._catalog import DEFAULT_MODELS_TTL
from ._core import (
    TRANSPORT_ERRORS,
    AttachmentLike,
    Core,
    Failed,
    Prepared,
    Reader,
    SchemaLike,
    Staged,
    TimeoutLike,
    chat_options,
    give_up,
)
from ._uploads import UploadCache

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
        retry_budget: float | None = None,
        models_ttl: float = DEFAULT_MODELS_TTL,
        aliases: Mapping[str, str] | None = None,
        proxy: str | None = None,
        limits: httpx2.Limits | None = None,
        transport: AsyncTransport | httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        uploads: UploadCache | None = None,
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
            retry_budget=retry_budget,
            models_ttl=models_ttl,
            aliases=aliases,
            uploads=uploads,
        )
        self._sleep = sleep
        self._models_lock = anyio.Lock()
        self._login_lock = anyio.Lock()
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
            fetch = functools.partial(self._read, self._core.models_request, self._core.catalog)
            async with contextlib.aclosing(self._attempts(fetch)) as catalogs:
                return await anext(catalogs)

    def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        options: ChatOptions | None = None,
        timeout: TimeoutLike = None,
        attachments: Sequence[AttachmentLike] = (),
        schema: SchemaLike = None,
        **changes: Any,
    ) -> AsyncChatStream:
        """Typed events as they arrive: `async with client.stream(...) as events`.

        The catalog lookup, the attachments' uploads and the request start when the stream is
        entered, awaited, or first iterated; errors of the request (an unknown model, no token,
        a failed upload) are raised there. With `schema`, as `RaycastClient.stream`.
        """
        chosen = chat_options(options, changes, schema)
        return AsyncChatStream(self._start(messages, model, chosen, timeout, attachments))

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        options: ChatOptions | None = None,
        timeout: TimeoutLike = None,
        attachments: Sequence[AttachmentLike] = (),
        schema: SchemaLike = None,
        **changes: Any,
    ) -> Completion:
        """The whole answer; with `schema`, as `RaycastClient.complete`."""
        chosen = chat_options(options, changes, schema)
        collector = Collector()
        stream = self.stream(
            messages, model, options=chosen, timeout=timeout, attachments=attachments
        )
        async with stream as events:
            async for event in events:
                collector.add(event)
        completion = collector.result(events.model.id)
        return completion if chosen.output is None else with_parsed(completion, chosen.output)

    async def _start(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None,
        options: ChatOptions,
        timeout: TimeoutLike,
        attachments: Sequence[AttachmentLike],
    ) -> tuple[ModelEntry, AsyncIterator[list[Event]]]:
        catalog = await self.models()
        if self._core.catalogs.stale_for(catalog, model, self._core.aliases):
            catalog = await self.models(refresh=True)
        if options.output is not None:
            begin = functools.partial(
                self._core.structured, catalog, messages, model, options, attachments
            )
            # Attachments given as paths are read (hashed) here: off the event loop.
            run = await anyio.to_thread.run_sync(begin) if attachments else begin()
            return run.model, self._structured(catalog, model, run, timeout)
        stage = functools.partial(
            self._core.stage, catalog, messages, model, options, timeout, attachments
        )
        # Attachments given as paths are read (hashed) here: off the event loop.
        staged = await anyio.to_thread.run_sync(stage) if attachments else stage()
        prepared = self._core.prepare(staged, await self._upload_all(staged))
        return prepared.model, self._attempts(lambda: self._chat(prepared))

    async def credits(self) -> Credits:
        """What is left of this month's AI credits, the plan and the renewal date."""
        return await self._get(CREDITS_PATH, self._core.credits)

    async def account(self) -> dict[str, Any]:
        """The signed-in user's profile (`/api/v1/me`): name, email, plan flags."""
        return await self._get(ME_PATH, self._core.account)

    async def _get(self, path: str, read: Reader[T]) -> T:
        once = functools.partial(self._read, lambda: self._core.account_request(path), read)
        async with contextlib.aclosing(self._attempts(once)) as results:
            return await anext(results)

    async def _read(
        self, request: Callable[[], Request], read: Reader[T]
    ) -> AsyncGenerator[T, None]:
        """One exchange read whole (the request made anew for each attempt), as `read` sees it."""
        try:
            response = await self._transport.send(request())
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except TRANSPORT_ERRORS as exc:
            raise self._core.failed(exc, None, False) from exc
        yield read(response.status_code, response.headers, body)

    async def _renew(self, used: str | None) -> None:
        """Renews the stored sign-in unless another attempt did since `used` was sent."""
        async with self._login_lock:
            request = self._core.renewal(used)
            if request is None:
                return
            try:
                response = await self._transport.send(request)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
            except TRANSPORT_ERRORS as exc:
                raise self._core.failed(exc, None, False).failure.error from exc
            self._core.renewed(response.status_code, body)

    async def _attempts(
        self, once: Callable[[], AsyncGenerator[T, None]]
    ) -> AsyncGenerator[T, None]:
        """What `once` yields, sending it again while the retry policy says to (and once more
        after renewing a stored sign-in that Raycast refused)."""
        attempt, started, renewed = 0, time.monotonic(), False
        while True:
            delivered = False
            if self._core.expiring():
                await self._renew(self._core.settings.token)
            used = self._core.settings.token
            try:
                async with contextlib.aclosing(once()) as items:
                    async for item in items:
                        delivered = True
                        yield item
                return
            except Failed as failed:
                if not renewed and not delivered and self._core.renewable(failed):
                    renewed = True
                    await self._renew(used)
                    continue
                decision = self._core.decide(attempt, failed, delivered, started)
                if isinstance(decision, GiveUp):
                    give_up(decision, failed)
            await self._sleep(decision.delay)
            attempt += 1

    async def _structured(
        self, catalog: Catalog, model: str | None, run: StructuredRun, timeout: TimeoutLike
    ) -> AsyncGenerator[list[Event], None]:
        """The attempts of a structured answer, as `run` asks for them; see StructuredRun."""
        step: list[Event] | Ask = run.first()
        while isinstance(step, Ask):
            staged = self._core.stage(catalog, step.messages, model, step.options, timeout)
            prepared = self._core.prepare(staged, await self._upload_all(staged))
            once = functools.partial(self._chat, prepared)
            async with contextlib.aclosing(self._attempts(once)) as batches:
                async for batch in batches:
                    if passed := run.feed(batch):
                        yield passed
            step = run.end()
        yield step

    async def _upload_all(self, staged: Staged) -> dict[str, str]:
        """The ids of the staged attachments' uploads, by SHA-256; the first that fails raises."""
        ids: dict[str, str] = {}
        for attachment in staged.pending:
            upload = self._attempts(functools.partial(self._upload, staged, attachment))
            async with contextlib.aclosing(upload) as one:
                ids[attachment.sha256] = await anext(one)
        return ids

    async def _upload(self, staged: Staged, attachment: Attachment) -> AsyncGenerator[str, None]:
        """One attempt: the metadata request, then the bytes to where it says."""
        try:
            response = await self._transport.send(self._core.files_request(staged, attachment))
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            status, headers = response.status_code, response.headers
            target = self._core.upload_target(status, headers, body, attachment)
            response = await self._transport.send(
                self._core.put_request(staged, target, attachment)
            )
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except (*TRANSPORT_ERRORS, RaycastError) as exc:
            raise self._core.upload_failed(exc, attachment) from exc
        yield self._core.uploaded(response.status_code, body, target, attachment)

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
