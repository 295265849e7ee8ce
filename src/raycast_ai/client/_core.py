"""What the sync and async clients share, with no I/O of its own: settings, the catalog cache,
the requests to send, what an answer means, and failures mapped onto the error tree."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx2

from raycast_ai.config import Settings, load_settings
from raycast_ai.protocol.attempt import Decision, Failure, GiveUp, RetryPolicy, status_failure
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.errors import (
    APIConnectionError,
    APITimeoutError,
    IncompleteStreamError,
    InvalidRequestError,
    MissingAuthError,
    RaycastError,
    StreamDecodeError,
)
from raycast_ai.protocol.events import StreamParser
from raycast_ai.protocol.request import (
    CHAT_PATH,
    MODELS_PATH,
    ChatOptions,
    ChatRequest,
    build_chat_request,
    chat_headers,
    models_headers,
)
from raycast_ai.transport.base import URL, Request, Timeout

log = logging.getLogger("raycast_ai")

# What both transports decode; sent by the client so that every transport sends the same.
CONNECTION_HEADERS = {"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
CHAT_OPTIONS = frozenset(f.name for f in dataclasses.fields(ChatOptions))

TimeoutLike = Timeout | float | None


def coerce_timeout(value: TimeoutLike) -> Timeout:
    if value is None:
        return Timeout()
    if isinstance(value, Timeout):
        return value
    return Timeout(connect=min(float(value), 10.0), read=float(value), write=float(value))


def chat_options(options: ChatOptions | None, changes: Mapping[str, Any]) -> ChatOptions:
    """`options` with `changes` (keyword arguments named like its fields) applied."""
    options = options or ChatOptions()
    if not changes:
        return options
    unknown = set(changes) - CHAT_OPTIONS
    if unknown:
        raise InvalidRequestError(
            f"Unknown chat option {', '.join(sorted(unknown))}; the options are "
            f"{', '.join(sorted(CHAT_OPTIONS))}."
        )
    return dataclasses.replace(options, **changes)


@dataclass(frozen=True, slots=True)
class Prepared:
    model: ModelEntry
    request: ChatRequest
    timeout: Timeout


class Failed(Exception):
    """One attempt failed; the shell's retry loop asks the policy what to do next."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure


class Core:
    """Built from the clients' keyword arguments; see `RaycastClient` for what they mean."""

    def __init__(
        self,
        *,
        token: str | None,
        signing_secret: str | None,
        device_id: str | None,
        base_url: str | None,
        home: str | Path | None,
        ca_bundle: str | None,
        settings: Settings | None,
        timeout: TimeoutLike,
        max_retries: int,
        models_ttl: float,
        aliases: Mapping[str, str] | None,
    ) -> None:
        from ._catalog import CatalogCache

        self.settings = (
            settings
            or load_settings(
                token=token,
                signing_secret=signing_secret,
                device_id=device_id,
                base_url=base_url,
                home=home,
                ca_bundle=ca_bundle,
            )
        ).with_device_id()
        self.timeout = coerce_timeout(timeout)
        self.policy = RetryPolicy(max_retries=max_retries)
        self.aliases = dict(aliases or {})
        self.catalogs = CatalogCache(self.settings.home, self.settings.base_url, models_ttl)
        base = URL.parse(self.settings.base_url)
        self.chat_url = base.join(CHAT_PATH)
        self.models_url = base.join(MODELS_PATH)

    @property
    def signed(self) -> bool:
        return bool(self.settings.signing_secret)

    def _signing(self) -> dict[str, Any]:
        return {
            "token": self.settings.token,
            "secret": self.settings.signing_secret,
            "device_id": self.settings.device_id or "",
            "timestamp": int(time.time()),
        }

    def models_request(self) -> Request:
        headers = models_headers(**self._signing()) | CONNECTION_HEADERS
        return Request("GET", self.models_url, headers, timeout=self.timeout)

    def chat_request(self, prepared: Prepared) -> Request:
        body = prepared.request.body
        headers = chat_headers(body, **self._signing()) | CONNECTION_HEADERS
        return Request("POST", self.chat_url, headers, body, prepared.timeout)

    def catalog(self, status: int, headers: Mapping[str, str], body: bytes) -> Catalog:
        """The catalog in a models answer; raises `Failed` for an error answer."""
        if status != 200:
            raise self.status_failed(status, headers, body)
        try:
            payload = json.loads(body)
        except ValueError:
            error = StreamDecodeError("Raycast's model list is not valid JSON.")
            raise Failed(Failure(error)) from None
        try:
            return self.catalogs.store(payload)
        except RaycastError as exc:
            raise Failed(Failure(exc)) from None

    def prepare(
        self,
        catalog: Catalog,
        messages: Sequence[Mapping[str, Any]],
        model: str | None,
        options: ChatOptions,
        timeout: TimeoutLike,
    ) -> Prepared:
        if not self.settings.token:
            raise MissingAuthError()
        entry = catalog.resolve(model, self.aliases)
        request = build_chat_request(messages, entry, options)
        return Prepared(
            entry, request, self.timeout if timeout is None else coerce_timeout(timeout)
        )

    def parser(self, prepared: Prepared) -> StreamParser:
        return StreamParser(signed=self.signed, local_tools=prepared.request.local_tools or None)

    def status_failed(self, status: int, headers: Mapping[str, str], body: bytes) -> Failed:
        lower = {k.lower(): v for k, v in headers.items()}
        return Failed(status_failure(status, lower, body))

    def failed(self, exc: Exception, parser: StreamParser | None, delivered: bool) -> Failed:
        """A transport exception or an error of the stream itself, as a failed attempt."""
        if isinstance(exc, RaycastError):
            return Failed(Failure(exc))
        return Failed(Failure(self._transport_error(exc, parser, delivered)))

    def _transport_error(
        self, exc: Exception, parser: StreamParser | None, delivered: bool
    ) -> RaycastError:
        timed_out = isinstance(exc, httpx2.TimeoutException)
        if delivered and parser is not None:
            if timed_out:
                return APITimeoutError(
                    "Raycast stopped sending in the middle of the answer and the read timeout "
                    "passed; the answer is incomplete. Retry, or raise the timeout."
                )
            return IncompleteStreamError(
                f"The connection to Raycast broke in the middle of the answer "
                f"({type(exc).__name__}). Retry the request.",
                partial_text=parser.partial_text,
            )
        if timed_out:
            return APITimeoutError(
                f"Raycast did not answer in time ({type(exc).__name__}) at "
                f"{self.settings.base_url}. Retry, or raise the timeout."
            )
        return APIConnectionError(
            f"Could not reach Raycast at {self.settings.base_url} ({type(exc).__name__}: "
            f"{exc or 'connection failed'}). Check the network or the base URL."
        )

    def decide(self, attempt: int, failed: Failed, delivered: bool, started: float) -> Decision:
        decision = self.policy.decide(
            attempt,
            failed.failure,
            delivered=delivered,
            elapsed=time.monotonic() - started,
            random=random.random(),
        )
        if not isinstance(decision, GiveUp):
            error = type(failed.failure.error).__name__
            log.info("retrying in %.2f s after: %s", decision.delay, error)
        return decision


def give_up(decision: GiveUp, failed: Failed) -> NoReturn:
    """Raises the error the policy gave up with, chained to the transport's exception if any."""
    cause = failed.__cause__
    raise decision.error from (None if cause is decision.error else cause)


# What the shells catch from a transport: httpx2's exceptions, whichever transport raised them.
TRANSPORT_ERRORS = (httpx2.TransportError,)
