"""The sync client: the I/O shell that sends what `Core` builds and sleeps when the retry policy
says so. `_async.py` mirrors it line for line."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

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
from raycast_ai.transport.base import Request, Transport
from raycast_ai.transport.httpx import HttpxTransport
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


class RaycastClient:
    """A Raycast AI client with one pooled connection set; use it as a context manager.

    Settings not given are read from the environment and the data folder (`config.py`).
    `timeout` is a `Timeout` or seconds (its `read` is the longest silence tolerated inside a
    stream). `transport` is a `raycast_ai.transport.Transport` or an httpx2 transport;
    `proxy` (http, https or socks5 URL) and `limits` shape the default one. TLS is verified
    against `ca_bundle` (else RAYCAST_CA_BUNDLE, SSL_CERT_FILE, the system's CAs); only
    `verify=False` turns verification off. `sleep` is how the client waits between attempts.
    `max_retries` retries a rate limit, a server error or a failed connection before the
    answer starts; `retry_budget` (seconds) starts no retry later than that after the first
    attempt. `uploads` remembers uploaded files (by default one cache for the whole process).
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
        transport: Transport | httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
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
        self._models_lock = threading.Lock()
        self._login_lock = threading.Lock()
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
            fetch = functools.partial(self._read, self._core.models_request, self._core.catalog)
            with contextlib.closing(self._attempts(fetch)) as catalogs:
                return next(catalogs)

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
    ) -> ChatStream:
        """Typed events as they arrive; iterate, and use as a context manager to close early.

        `options` and keyword arguments named like its fields (`temperature`, `tools`, ...)
        shape the request; `timeout` replaces the client's for this request. `attachments`
        (`Attachment`, bytes, paths or data URLs) go with the last user message; they, and
        attachment parts in the messages, are uploaded here, before the question is sent. With
        `schema` (see `complete`), notices and reasoning arrive as they come, and the answer's
        JSON as one `TextDelta` once it is known to be valid.
        """
        chosen = chat_options(options, changes, schema)
        catalog = self.models()
        if self._core.catalogs.stale_for(catalog, model, self._core.aliases):
            catalog = self.models(refresh=True)
        if chosen.output is not None:
            run = self._core.structured(catalog, messages, model, chosen, attachments)
            return ChatStream(run.model, self._structured(catalog, model, run, timeout))
        staged = self._core.stage(catalog, messages, model, chosen, timeout, attachments)
        prepared = self._core.prepare(staged, self._upload_all(staged))
        return ChatStream(prepared.model, self._attempts(lambda: self._chat(prepared)))

    def complete(
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
        """The whole answer. With `schema` (a JSON Schema dict or a pydantic model class),
        `.text` is JSON valid for it and `.parsed` the model's instance (the JSON value for a
        dict): the model is forced to call a tool whose parameters are the schema, or told to
        answer in JSON when it takes no tools; an invalid answer is sent back once to be
        repaired, and one still invalid raises `StructuredOutputError`."""
        chosen = chat_options(options, changes, schema)
        collector = Collector()
        stream = self.stream(
            messages, model, options=chosen, timeout=timeout, attachments=attachments
        )
        with stream as events:
            for event in events:
                collector.add(event)
        completion = collector.result(events.model.id)
        return completion if chosen.output is None else with_parsed(completion, chosen.output)

    def credits(self) -> Credits:
        """What is left of this month's AI credits, the plan and the renewal date."""
        return self._get(CREDITS_PATH, self._core.credits)

    def account(self) -> dict[str, Any]:
        """The signed-in user's profile (`/api/v1/me`): name, email, plan flags."""
        return self._get(ME_PATH, self._core.account)

    def _get(self, path: str, read: Reader[T]) -> T:
        once = functools.partial(self._read, lambda: self._core.account_request(path), read)
        with contextlib.closing(self._attempts(once)) as results:
            return next(results)

    def _read(self, request: Callable[[], Request], read: Reader[T]) -> Generator[T, None, None]:
        """One exchange read whole (the request made anew for each attempt), as `read` sees it."""
        try:
            response = self._transport.send(request())
            try:
                body = response.read()
            finally:
                response.close()
        except TRANSPORT_ERRORS as exc:
            raise self._core.failed(exc, None, False) from exc
        yield read(response.status_code, response.headers, body)

    def _renew(self, used: str | None) -> None:
        """Renews the stored sign-in unless another attempt did since `used` was sent."""
        with self._login_lock:
            request = self._core.renewal(used)
            if request is None:
                return
            try:
                response = self._transport.send(request)
                try:
                    body = response.read()
                finally:
                    response.close()
            except TRANSPORT_ERRORS as exc:
                raise self._core.failed(exc, None, False).failure.error from exc
            self._core.renewed(response.status_code, body)

    def _attempts(self, once: Callable[[], Generator[T, None, None]]) -> Generator[T, None, None]:
        """What `once` yields, sending it again while the retry policy says to (and once more
        after renewing a stored sign-in that Raycast refused)."""
        attempt, started, renewed = 0, time.monotonic(), False
        while True:
            delivered = False
            if self._core.expiring():
                self._renew(self._core.settings.token)
            used = self._core.settings.token
            try:
                with contextlib.closing(once()) as items:
                    for item in items:
                        delivered = True
                        yield item
                return
            except Failed as failed:
                if not renewed and not delivered and self._core.renewable(failed):
                    renewed = True
                    self._renew(used)
                    continue
                decision = self._core.decide(attempt, failed, delivered, started)
                if isinstance(decision, GiveUp):
                    give_up(decision, failed)
            self._sleep(decision.delay)
            attempt += 1

    def _structured(
        self, catalog: Catalog, model: str | None, run: StructuredRun, timeout: TimeoutLike
    ) -> Generator[list[Event], None, None]:
        """The attempts of a structured answer, as `run` asks for them; see StructuredRun."""
        step: list[Event] | Ask = run.first()
        while isinstance(step, Ask):
            staged = self._core.stage(catalog, step.messages, model, step.options, timeout)
            prepared = self._core.prepare(staged, self._upload_all(staged))
            once = functools.partial(self._chat, prepared)
            with contextlib.closing(self._attempts(once)) as batches:
                for batch in batches:
                    if passed := run.feed(batch):
                        yield passed
            step = run.end()
        yield step

    def _upload_all(self, staged: Staged) -> dict[str, str]:
        """The ids of the staged attachments' uploads, by SHA-256; the first that fails raises."""
        ids: dict[str, str] = {}
        for attachment in staged.pending:
            upload = self._attempts(functools.partial(self._upload, staged, attachment))
            with contextlib.closing(upload) as one:
                ids[attachment.sha256] = next(one)
        return ids

    def _upload(self, staged: Staged, attachment: Attachment) -> Generator[str, None, None]:
        """One attempt: the metadata request, then the bytes to where it says."""
        try:
            response = self._transport.send(self._core.files_request(staged, attachment))
            try:
                body = response.read()
            finally:
                response.close()
            status, headers = response.status_code, response.headers
            target = self._core.upload_target(status, headers, body, attachment)
            put = self._core.put_request(staged, target, attachment)
            response = self._transport.send(put)
            try:
                body = response.read()
            finally:
                response.close()
        except (*TRANSPORT_ERRORS, RaycastError) as exc:
            raise self._core.upload_failed(exc, attachment) from exc
        yield self._core.uploaded(response.status_code, body, target, attachment)

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
