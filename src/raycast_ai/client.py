"""Sync and async Raycast AI clients: the I/O shells around `protocol/`.

The two classes mirror each other and differ only in how they read bytes and sleep; what to send,
what the bytes mean and whether to retry all come from `protocol/`.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypedDict

import anyio
import httpx2
import socksio
from typing_extensions import Unpack

from .config import Settings, load_settings, read_json, write_json
from .protocol.catalog import Catalog, ModelEntry
from .protocol.completion import Collector, Completion
from .protocol.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IncompleteStreamError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    RaycastError,
    StreamDecodeError,
)
from .protocol.events import Event, StreamParser
from .protocol.request import (
    CHAT_PATH,
    MODELS_PATH,
    ChatOptions,
    ChatRequest,
    SystemStrategy,
    build_chat_request,
    chat_headers,
    models_headers,
)
from .protocol.retry import RETRYABLE_STATUSES, RetryPolicy, error_for_status, parse_retry_after
from .transport import KEEPALIVE_EXPIRY, Http1Transport

log = logging.getLogger("raycast_ai")

# A SOCKS proxy that answers garbage raises socksio's error, not httpx2's.
_TRANSPORT_ERRORS = (httpx2.TransportError, socksio.ProtocolError)

MODELS_CACHE_FILE = "models-cache.json"
DEFAULT_MODELS_TTL = 3600.0


@dataclass(frozen=True, slots=True)
class Timeout:
    """`read` is the longest silence tolerated between two reads of a stream, not a total."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 10.0

    def to_httpx(self) -> httpx2.Timeout:
        return httpx2.Timeout(
            connect=self.connect, read=self.read, write=self.write, pool=self.pool
        )


TimeoutLike = Timeout | float | None


def _timeout(value: TimeoutLike) -> Timeout:
    if value is None:
        return Timeout()
    if isinstance(value, Timeout):
        return value
    return Timeout(connect=min(float(value), 10.0), read=float(value), write=float(value))


class ChatKwargs(TypedDict, total=False):
    temperature: float | None
    reasoning_effort: str | None
    tools: Sequence[Mapping[str, Any]]
    tool_choice: str | Mapping[str, Any] | None
    system_strategy: SystemStrategy
    locale: str
    source: str
    thread_id: str | None
    timeout: TimeoutLike


@dataclass(frozen=True, slots=True)
class _Prepared:
    model: ModelEntry
    request: ChatRequest
    timeout: Timeout


class _Core:
    """What the sync and async clients share: settings, the catalog cache, request building."""

    def __init__(
        self,
        token: str | None,
        signing_secret: str | None,
        device_id: str | None,
        base_url: str | None,
        home: str | Path | None,
        timeout: TimeoutLike,
        max_retries: int,
        models_ttl: float,
        aliases: Mapping[str, str] | None,
        settings: Settings | None,
    ) -> None:
        self.settings = (
            settings
            or load_settings(
                token=token,
                signing_secret=signing_secret,
                device_id=device_id,
                base_url=base_url,
                home=home,
            )
        ).with_device_id()
        self.timeout = _timeout(timeout)
        self.retry = RetryPolicy(max_retries=max_retries)
        self.models_ttl = models_ttl
        self.aliases = dict(aliases or {})
        self._catalog: Catalog | None = None
        self._catalog_at = 0.0
        self._catalog_from_cache = False
        self.random: Callable[[], float] = random.random

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    @property
    def signed(self) -> bool:
        return bool(self.settings.signing_secret)

    def _headers(self, body: bytes) -> dict[str, str]:
        return chat_headers(
            body,
            token=self.settings.token,
            secret=self.settings.signing_secret,
            device_id=self.settings.device_id or "",
            timestamp=int(time.time()),
        )

    def _models_headers(self) -> dict[str, str]:
        return models_headers(
            token=self.settings.token,
            secret=self.settings.signing_secret,
            device_id=self.settings.device_id or "",
            timestamp=int(time.time()),
        )

    def _cached_catalog(self, refresh: bool) -> Catalog | None:
        if refresh:
            return None
        now = time.time()
        if self._catalog is not None and 0 <= now - self._catalog_at < self.models_ttl:
            return self._catalog
        stored = read_json(self._cache_path)
        fetched_at = stored.get("fetched_at")
        if (
            stored.get("base_url") == self.settings.base_url
            and isinstance(fetched_at, int | float)
            and 0 <= now - fetched_at < self.models_ttl
        ):
            try:
                self._remember(Catalog.parse(stored.get("payload")), float(fetched_at), True)
            except RaycastError:
                return None
            return self._catalog
        return None

    def _store_catalog(self, payload: object) -> Catalog:
        catalog = Catalog.parse(payload)
        now = time.time()
        self._remember(catalog, now)
        record = {"base_url": self.settings.base_url, "fetched_at": now, "payload": payload}
        try:
            write_json(self._cache_path, record)
        except OSError as exc:
            log.debug("could not write the models cache: %s", exc)
        return catalog

    def _catalog_or_error(self, response: httpx2.Response) -> Catalog | tuple[RaycastError, bool]:
        if response.status_code != 200:
            return self._status_error(response, response.content)
        try:
            return self._store_catalog(response.json())
        except ValueError:
            return StreamDecodeError("Raycast's model list is not valid JSON."), False

    def _chat_url(self, base: httpx2.URL) -> httpx2.URL:
        """The chat URL, absolute and parsed once: httpx2 merging a relative path into its
        base_url on each request costs more than building the rest of the request."""
        return base.copy_with(raw_path=base.raw_path + CHAT_PATH.lstrip("/").encode())

    def _http_options(self, proxy: str | None) -> dict[str, Any]:
        return {
            "base_url": self.settings.base_url,
            "timeout": self.timeout.to_httpx(),
            "proxy": proxy,
            "trust_env": False,
            "verify": _ssl_context(),
        }

    def _remember(self, catalog: Catalog, at: float, from_cache: bool = False) -> None:
        self._catalog, self._catalog_at, self._catalog_from_cache = catalog, at, from_cache

    @property
    def _cache_path(self) -> Path:
        return self.settings.home / MODELS_CACHE_FILE

    def _needs_refresh(self, catalog: Catalog, model: str | None) -> bool:
        """A name the cached catalog lacks may be new: look once more before calling it unknown."""
        if not self._catalog_from_cache:
            return False
        try:
            catalog.resolve(model, self.aliases)
        except ModelNotFoundError:
            return True
        return False

    def _prepare(
        self,
        catalog: Catalog,
        messages: Sequence[Mapping[str, Any]],
        model: str | None,
        kwargs: ChatKwargs,
    ) -> _Prepared:
        if not self.settings.token:
            raise MissingAuthError()
        options: dict[str, Any] = dict(kwargs)
        timeout = options.pop("timeout", None)
        entry = catalog.resolve(model, self.aliases)
        try:
            chat_options = ChatOptions(**options)
        except TypeError as exc:
            raise InvalidRequestError(f"Unknown chat option: {exc}") from None
        request = build_chat_request(messages, entry, chat_options)
        return _Prepared(entry, request, self.timeout if timeout is None else _timeout(timeout))

    def _parser(self, prepared: _Prepared) -> StreamParser:
        return StreamParser(signed=self.signed, local_tools=prepared.request.local_tools or None)

    def _transport_error(
        self, exc: Exception, parser: StreamParser | None, delivered: bool
    ) -> RaycastError:
        if delivered and parser is not None:
            if isinstance(exc, httpx2.TimeoutException):
                return APITimeoutError(
                    "Raycast stopped sending in the middle of the answer and the read timeout "
                    "passed; the answer is incomplete. Retry, or raise the timeout."
                )
            return IncompleteStreamError(
                f"The connection to Raycast broke in the middle of the answer "
                f"({type(exc).__name__}). Retry the request.",
                partial_text=parser.partial_text,
            )
        if isinstance(exc, httpx2.TimeoutException):
            return APITimeoutError(
                f"Raycast did not answer in time ({type(exc).__name__}) at "
                f"{self.settings.base_url}. Retry, or raise the timeout."
            )
        return APIConnectionError(
            f"Could not reach Raycast at {self.settings.base_url} ({type(exc).__name__}: "
            f"{exc or 'connection failed'}). Check the network or the base URL."
        )

    def _status_error(self, response: _Response, body: bytes) -> tuple[APIStatusError, bool]:
        headers = {k.lower(): v for k, v in response.headers.items()}
        retry_after = parse_retry_after(headers)
        error = error_for_status(response.status_code, body, retry_after)
        return error, response.status_code in RETRYABLE_STATUSES

    def _wait(self, attempt: int, error: RaycastError, retryable: bool) -> float:
        """Seconds to sleep before the next attempt; raises `error` when it is time to give up."""
        delay = (
            self.retry.delay(attempt, getattr(error, "retry_after", None), self.random())
            if retryable
            else None
        )
        if delay is None:
            raise error
        log.info("retrying in %.2f s after: %s", delay, type(error).__name__)
        return delay


def _is_retryable(error: RaycastError) -> bool:
    return isinstance(error, APIConnectionError)


class RaycastClient(_Core):
    """A Raycast AI client with one pooled connection set; use it as a context manager."""

    def __init__(
        self,
        token: str | None = None,
        *,
        signing_secret: str | None = None,
        device_id: str | None = None,
        base_url: str | None = None,
        home: str | Path | None = None,
        timeout: TimeoutLike = None,
        max_retries: int = 2,
        proxy: str | None = None,
        transport: httpx2.BaseTransport | None = None,
        models_ttl: float = DEFAULT_MODELS_TTL,
        aliases: Mapping[str, str] | None = None,
        settings: Settings | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            token,
            signing_secret,
            device_id,
            base_url,
            home,
            timeout,
            max_retries,
            models_ttl,
            aliases,
            settings,
        )
        self.sleep = sleep
        self._models_lock = threading.Lock()
        self._http = httpx2.Client(transport=transport, **self._http_options(proxy))
        self._chat = self._chat_url(self._http.base_url)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def models(self, *, refresh: bool = False) -> Catalog:
        cached = self._cached_catalog(refresh)
        if cached is not None:
            return cached
        seen = self._catalog_at
        with self._models_lock:  # threads sharing a client fetch the list once
            if self._catalog is not None and self._catalog_at != seen:
                return self._catalog
            return self._fetch_models()

    def _fetch_models(self) -> Catalog:
        attempt = 0
        while True:
            try:
                response = self._http.get(MODELS_PATH, headers=self._models_headers())
            except _TRANSPORT_ERRORS as exc:
                error: RaycastError = self._transport_error(exc, None, False)
                retryable = True
            else:
                result = self._catalog_or_error(response)
                if isinstance(result, Catalog):
                    return result
                error, retryable = result
            self.sleep(self._wait(attempt, error, retryable))
            attempt += 1

    def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        **kwargs: Unpack[ChatKwargs],
    ) -> ChatStream:
        """Typed events as they arrive; iterate, or use as a context manager to close early."""
        catalog = self.models()
        if self._needs_refresh(catalog, model):
            catalog = self.models(refresh=True)
        prepared = self._prepare(catalog, messages, model, kwargs)
        return ChatStream(prepared.model, self._events(prepared))

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        **kwargs: Unpack[ChatKwargs],
    ) -> Completion:
        collector = Collector()
        with self.stream(messages, model, **kwargs) as events:
            for event in events:
                collector.add(event)
        return collector.result(events.model.id)

    def _events(self, prepared: _Prepared) -> Iterator[Event]:
        body = prepared.request.body
        attempt = 0
        error: RaycastError
        while True:
            parser = self._parser(prepared)
            delivered = False
            request = self._http.build_request(
                "POST",
                self._chat,
                content=body,
                headers=self._headers(body),
                timeout=prepared.timeout.to_httpx(),
            )
            try:
                response = self._http.send(request, stream=True)
                try:
                    if response.status_code != 200:
                        error, retryable = self._status_error(response, response.read())
                    else:
                        for data in response.iter_bytes():
                            events = parser.feed(data)
                            if events:
                                delivered = True
                                yield from events
                        parser.end()
                        return
                finally:
                    response.close()
            except _TRANSPORT_ERRORS as exc:
                error = self._transport_error(exc, parser, delivered)
                if delivered:
                    raise error from exc
                retryable = _is_retryable(error)
            self.sleep(self._wait(attempt, error, retryable))
            attempt += 1


class ChatStream:
    """An iterator of events that closes the HTTP response when closed, exited or collected."""

    __slots__ = ("_events", "model")

    def __init__(self, model: ModelEntry, events: Iterator[Event]) -> None:
        self.model = model
        self._events = events

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


class AsyncRaycastClient(_Core):
    """The async twin of `RaycastClient`; use it with `async with`.

    Without a `proxy` or a `transport` of its own, it talks HTTP/1.1 through `Http1Transport`
    (`raycast_ai.transport`), which costs a fraction of httpx2's default transport per request;
    `limits` sizes its pool.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        signing_secret: str | None = None,
        device_id: str | None = None,
        base_url: str | None = None,
        home: str | Path | None = None,
        timeout: TimeoutLike = None,
        max_retries: int = 2,
        proxy: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        models_ttl: float = DEFAULT_MODELS_TTL,
        aliases: Mapping[str, str] | None = None,
        settings: Settings | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        limits: httpx2.Limits | None = None,
    ) -> None:
        super().__init__(
            token,
            signing_secret,
            device_id,
            base_url,
            home,
            timeout,
            max_retries,
            models_ttl,
            aliases,
            settings,
        )
        self.sleep = sleep
        self._models_lock = anyio.Lock()
        limits = limits or httpx2.Limits(max_connections=None, max_keepalive_connections=100)
        if transport is None and proxy is None:
            transport = _lean_transport(limits)
        self._http = httpx2.AsyncClient(
            transport=transport, **self._http_options(proxy), limits=limits
        )
        self._chat = self._chat_url(self._http.base_url)
        # The chat stream skips httpx2's request and response objects when the transport can.
        self._fast = transport if isinstance(transport, Http1Transport) else None
        self._defaults = dict(self._http.headers)

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
        await self._http.aclose()

    async def models(self, *, refresh: bool = False) -> Catalog:
        cached = self._cached_catalog(refresh)
        if cached is not None:
            return cached
        seen = self._catalog_at
        async with self._models_lock:  # a burst of first requests fetches the list once
            if self._catalog is not None and self._catalog_at != seen:
                return self._catalog
            return await self._fetch_models()

    async def _fetch_models(self) -> Catalog:
        attempt = 0
        while True:
            try:
                response = await self._http.get(MODELS_PATH, headers=self._models_headers())
            except _TRANSPORT_ERRORS as exc:
                error: RaycastError = self._transport_error(exc, None, False)
                retryable = True
            else:
                result = self._catalog_or_error(response)
                if isinstance(result, Catalog):
                    return result
                error, retryable = result
            await self.sleep(self._wait(attempt, error, retryable))
            attempt += 1

    async def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        **kwargs: Unpack[ChatKwargs],
    ) -> AsyncChatStream:
        catalog = await self.models()
        if self._needs_refresh(catalog, model):
            catalog = await self.models(refresh=True)
        prepared = self._prepare(catalog, messages, model, kwargs)
        return AsyncChatStream.from_batches(prepared.model, self._batches(prepared))

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        **kwargs: Unpack[ChatKwargs],
    ) -> Completion:
        collector = Collector()
        async with await self.stream(messages, model, **kwargs) as events:
            async for event in events:
                collector.add(event)
        return collector.result(events.model.id)

    async def _post(self, body: bytes, timeout: Timeout) -> _Response:
        headers = self._headers(body)
        if self._fast is not None:
            # What httpx2 would send: its client's default headers under the request's own.
            names = {name.lower() for name in headers}
            merged = {k: v for k, v in self._defaults.items() if k not in names} | headers
            return await self._fast.post(self._chat, merged, body, timeout.to_httpx())
        request = self._http.build_request(
            "POST", self._chat, content=body, headers=headers, timeout=timeout.to_httpx()
        )
        return await self._http.send(request, stream=True)

    async def _batches(self, prepared: _Prepared) -> AsyncGenerator[list[Event], None]:
        """The events of each network read, in one list: a consumer that forwards them (the
        gateway) handles a burst at once instead of resuming once per event."""
        body = prepared.request.body
        attempt = 0
        error: RaycastError
        while True:
            parser = self._parser(prepared)
            delivered = False
            try:
                response = await self._post(body, prepared.timeout)
                try:
                    if response.status_code != 200:
                        error, retryable = self._status_error(response, await response.aread())
                    else:
                        async for data in response.aiter_bytes():
                            events = parser.feed(data)
                            if events:
                                delivered = True
                                yield events
                        parser.end()
                        return
                finally:
                    await response.aclose()
            except _TRANSPORT_ERRORS as exc:
                error = self._transport_error(exc, parser, delivered)
                if delivered:
                    raise error from exc
                retryable = _is_retryable(error)
            await self.sleep(self._wait(attempt, error, retryable))
            attempt += 1


class _Response(Protocol):
    """What a chat stream reads of a response: httpx2's, or `Http1Transport.post`'s."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aread(self) -> bytes: ...

    async def aclose(self) -> None: ...


class AsyncChatStream:
    """An async iterator of events; `aclose()` or `async with` closes the HTTP response.

    `batches()` gives the events a network read at a time instead, for a consumer that forwards
    them; it starts with whatever the event iteration has not taken yet.
    """

    __slots__ = ("_pending", "_source", "model")

    def __init__(self, model: ModelEntry, events: AsyncIterator[Event]) -> None:
        self.model = model
        self._source: AsyncIterator[list[Event]] = _one_by_one(events)
        self._pending: list[Event] = []  # the rest of the current batch, last event first

    @classmethod
    def from_batches(cls, model: ModelEntry, batches: AsyncIterator[list[Event]]) -> Self:
        stream = cls.__new__(cls)
        stream.model = model
        stream._source = batches
        stream._pending = []
        return stream

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        pending = self._pending
        while not pending:
            batch = await anext(self._source)
            if len(batch) == 1:
                return batch[0]
            pending = self._pending = batch[::-1]
        return pending.pop()

    async def batches(self) -> AsyncIterator[list[Event]]:
        if self._pending:
            pending, self._pending = self._pending[::-1], []
            yield pending
        async for batch in self._source:
            yield batch

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


async def _one_by_one(events: AsyncIterator[Event]) -> AsyncGenerator[list[Event], None]:
    try:
        async for event in events:
            yield [event]
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def _lean_transport(limits: httpx2.Limits) -> Http1Transport:
    idle, expiry = limits.max_keepalive_connections, limits.keepalive_expiry
    return Http1Transport(
        ssl_context=_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=1 << 30 if idle is None else idle,
        # Never longer than its own: a server's keep-alive is commonly 5 s.
        keepalive_expiry=KEEPALIVE_EXPIRY if expiry is None else min(expiry, KEEPALIVE_EXPIRY),
    )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verified TLS context per process: building one costs tens of milliseconds."""
    return httpx2.create_ssl_context(trust_env=False)
