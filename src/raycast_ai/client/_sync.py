"""The sync client: the I/O shell that sends what `Core` builds and sleeps when the retry policy
says so. `_async.py` mirrors it line for line."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2

from raycast_ai.config import Settings
from raycast_ai.protocol.attempt import GiveUp
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.completion import Collector, Completion
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.transport.base import Transport
from raycast_ai.transport.httpx import HttpxTransport
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


class RaycastClient:
    """A Raycast AI client with one pooled connection set; use it as a context manager.

    Settings not given are read from the environment and the data folder (`config.py`).
    `timeout` is a `Timeout` or seconds (its `read` is the longest silence tolerated inside a
    stream). `transport` is a `raycast_ai.transport.Transport` or an httpx2 transport;
    `proxy` (http, https or socks5 URL) and `limits` shape the default one. TLS is verified
    against `ca_bundle` (else RAYCAST_CA_BUNDLE, SSL_CERT_FILE, the system's CAs); only
    `verify=False` turns verification off. `sleep` is how the client waits between attempts.
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
        transport: Transport | httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
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
        self._models_lock = threading.Lock()
        if transport is None or isinstance(transport, httpx2.BaseTransport):
            verify_with = ssl_context(verify, self._core.settings.ca_bundle)
            transport = HttpxTransport(
                transport=transport, proxy=proxy, verify=verify_with, limits=limits
            )
        self._transport: Transport = transport

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
        self._transport.close()

    def models(self, *, refresh: bool = False) -> Catalog:
        cached = None if refresh else self._core.catalogs.get()
        if cached is not None:
            return cached
        seen = self._core.catalogs.stamp
        with self._models_lock:  # a burst of first requests fetches the list once
            current = self._core.catalogs.current
            if current is not None and self._core.catalogs.stamp != seen:
                return current
            with contextlib.closing(self._attempts(self._fetch_models)) as catalogs:
                return next(catalogs)

    def stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        options: ChatOptions | None = None,
        timeout: TimeoutLike = None,
        **changes: Any,
    ) -> ChatStream:
        """Typed events as they arrive; iterate, and use as a context manager to close early.

        `options` and keyword arguments named like its fields (`temperature`, `tools`, ...)
        shape the request; `timeout` replaces the client's for this request.
        """
        chosen = chat_options(options, changes)
        catalog = self.models()
        if self._core.catalogs.stale_for(catalog, model, self._core.aliases):
            catalog = self.models(refresh=True)
        prepared = self._core.prepare(catalog, messages, model, chosen, timeout)
        return ChatStream(prepared.model, self._attempts(lambda: self._chat(prepared)))

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        *,
        options: ChatOptions | None = None,
        timeout: TimeoutLike = None,
        **changes: Any,
    ) -> Completion:
        collector = Collector()
        with self.stream(messages, model, options=options, timeout=timeout, **changes) as events:
            for event in events:
                collector.add(event)
        return collector.result(events.model.id)

    def _attempts(self, once: Callable[[], Generator[T, None, None]]) -> Generator[T, None, None]:
        """What `once` yields, sending it again while the retry policy says to."""
        attempt, started = 0, time.monotonic()
        while True:
            delivered = False
            try:
                with contextlib.closing(once()) as items:
                    for item in items:
                        delivered = True
                        yield item
                return
            except Failed as failed:
                decision = self._core.decide(attempt, failed, delivered, started)
                if isinstance(decision, GiveUp):
                    give_up(decision, failed)
            self._sleep(decision.delay)
            attempt += 1

    def _fetch_models(self) -> Generator[Catalog, None, None]:
        try:
            response = self._transport.send(self._core.models_request())
            try:
                body = response.read()
            finally:
                response.close()
        except TRANSPORT_ERRORS as exc:
            raise self._core.failed(exc, None, False) from exc
        yield self._core.catalog(response.status_code, response.headers, body)

    def _chat(self, prepared: Prepared) -> Generator[list[Event], None, None]:
        """One attempt: the events of each network read, in one list."""
        parser = self._core.parser(prepared)
        delivered = False
        try:
            response = self._transport.send(self._core.chat_request(prepared))
            try:
                if response.status_code != 200:
                    status, headers = response.status_code, response.headers
                    raise self._core.status_failed(status, headers, response.read())
                for data in response.iter_bytes():
                    if events := parser.feed(data):
                        delivered = True
                        yield events
                parser.end()
            finally:
                response.close()
        except (*TRANSPORT_ERRORS, RaycastError) as exc:
            raise self._core.failed(exc, parser, delivered) from exc


class ChatStream:
    """The events of one answer; closing it (or leaving its `with`) closes the HTTP response.

    `batches()` gives them a network read at a time instead, starting with whatever iterating
    has not taken yet: a consumer that forwards them handles a burst at once.
    """

    __slots__ = ("_begun", "_pending", "_source", "model")

    def __init__(self, model: ModelEntry, batches: Iterator[list[Event]]) -> None:
        self.model = model
        self._source = batches
        self._pending: list[Event] = []  # the rest of the current batch, last event first
        self._begun = False

    @classmethod
    def from_batches(cls, model: ModelEntry, batches: Iterator[list[Event]]) -> Self:
        """A stream over `batches` (as `AsyncChatStream.from_batches`)."""
        return cls(model, batches)

    def started(self) -> Self:
        """Sends the request if it has not gone yet; its errors are raised here."""
        if not self._begun:
            self._begun = True
            first = next(self._source, None)
            if first:
                self._pending = first[::-1]
        return self

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Event:
        self._begun = True
        pending = self._pending
        while not pending:
            batch = next(self._source)
            if len(batch) == 1:
                return batch[0]
            pending = self._pending = batch[::-1]
        return pending.pop()

    def batches(self) -> Iterator[list[Event]]:
        self._begun = True
        if self._pending:
            pending, self._pending = self._pending[::-1], []
            yield pending
        yield from self._source

    def __enter__(self) -> Self:
        return self.started()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()
