"""What the sync and async clients share, with no I/O of its own: settings, the catalog cache,
the requests to send, what an answer means, and failures mapped onto the error tree."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx2

from raycast_ai.attachments import Attachment, attachments_in, with_attachments
from raycast_ai.config import Settings, load_settings
from raycast_ai.protocol.attempt import (
    Decision,
    Failure,
    GiveUp,
    RetryPolicy,
    retry_words,
    status_failure,
)
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.credits import Credits, parse_credits
from raycast_ai.protocol.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidRequestError,
    MissingAuthError,
    RaycastError,
    StreamDecodeError,
    UploadError,
)
from raycast_ai.protocol.events import StreamParser
from raycast_ai.protocol.files import (
    ATTACHMENT_PART,
    FILES_PATH,
    UploadTarget,
    about_upload,
    files_failure,
    put_failure,
    put_headers,
    upload_body,
    upload_target,
    uploaded_part,
    vision_refusal,
)
from raycast_ai.protocol.oauth import LOGIN_AGAIN
from raycast_ai.protocol.request import (
    CHAT_PATH,
    MODELS_PATH,
    USER_AGENT,
    ChatOptions,
    ChatRequest,
    build_chat_request,
    chat_headers,
    models_headers,
    new_id,
)
from raycast_ai.protocol.structured import OutputSchema, StructuredRun, output_schema
from raycast_ai.transport.base import URL, BodyStream, Request, Timeout

from ._login import Login
from ._uploads import UPLOADS, UploadCache

log = logging.getLogger("raycast_ai")

# What both transports decode; sent by the client so that every transport sends the same.
CONNECTION_HEADERS = {"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
CHAT_OPTIONS = frozenset(f.name for f in dataclasses.fields(ChatOptions))

TimeoutLike = Timeout | float | None
SchemaLike = Mapping[str, Any] | type[Any] | OutputSchema | None
_T = TypeVar("_T")
# What makes a value of a whole response: its status, headers and body (`Core.catalog`, ...).
Reader = Callable[[int, Mapping[str, str], bytes], _T]


def coerce_timeout(value: TimeoutLike) -> Timeout:
    if value is None:
        return Timeout()
    if isinstance(value, Timeout):
        return value
    return Timeout(connect=min(float(value), 10.0), read=float(value), write=float(value))


def chat_options(
    options: ChatOptions | None, changes: Mapping[str, Any], schema: SchemaLike = None
) -> ChatOptions:
    """`options` with `changes` (keyword arguments named like its fields) applied, and `schema`
    (a JSON Schema dict or a pydantic model class) as its structured `output`."""
    options = options or ChatOptions()
    if schema is not None:
        options = dataclasses.replace(options, output=output_schema(schema))
    if not changes:
        return options
    unknown = set(changes) - CHAT_OPTIONS
    if unknown:
        raise InvalidRequestError(
            f"Unknown chat option {', '.join(sorted(unknown))}; the options are "
            f"{', '.join(sorted(CHAT_OPTIONS))}."
        )
    return dataclasses.replace(options, **changes)


AttachmentLike = Attachment | bytes | str | Path


@dataclass(frozen=True, slots=True)
class Staged:
    """A chat request waiting for its attachments: `pending` are to be uploaded (each content
    once), `known` maps the SHA-256 of the others to the id of an earlier upload. The uploads
    name `options.thread_id` as their chat, and so does the chat request."""

    model: ModelEntry
    messages: Sequence[Mapping[str, Any]]
    options: ChatOptions
    timeout: Timeout
    catalog: Catalog | None = None  # to name, in an error, models that can do what is asked
    pending: tuple[Attachment, ...] = ()
    known: Mapping[str, str] = dataclasses.field(default_factory=dict)


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
        retry_budget: float | None,
        models_ttl: float,
        aliases: Mapping[str, str] | None,
        uploads: UploadCache | None = None,
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
        self.policy = RetryPolicy(max_retries=max_retries, budget=retry_budget)
        self.aliases = dict(aliases or {})
        self.catalogs = CatalogCache(self.settings.home, self.settings.base_url, models_ttl)
        base = URL.parse(self.settings.base_url)
        self.base = base
        self.chat_url = base.join(CHAT_PATH)
        self.models_url = base.join(MODELS_PATH)
        self.files_url = base.join(FILES_PATH)
        self.uploads = UPLOADS if uploads is None else uploads
        self.login = Login.of(self.settings)

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

    def stage(
        self,
        catalog: Catalog,
        messages: Sequence[Mapping[str, Any]],
        model: str | None,
        options: ChatOptions,
        timeout: TimeoutLike,
        attachments: Sequence[AttachmentLike] = (),
    ) -> Staged:
        """Everything decided before any byte is sent: the model, the files to upload (images
        refused for a model without vision) and the thread they belong to."""
        if not self.settings.token:
            raise MissingAuthError()
        entry = catalog.resolve(model, self.aliases)
        messages = with_attachments(messages, attachments)
        files = attachments_in(messages)
        refusal = vision_refusal(entry, catalog, [a.filename for a in files if a.is_image])
        if refusal is not None:
            raise refusal
        chosen_timeout = self.timeout if timeout is None else coerce_timeout(timeout)
        if not files:
            return Staged(entry, messages, options, chosen_timeout, catalog)
        if options.thread_id is None:
            options = dataclasses.replace(options, thread_id=new_id())
        pending: dict[str, Attachment] = {}
        known: dict[str, str] = {}
        for attachment in files:
            file_id = self.uploads.get(self._upload_key(attachment))
            if file_id is not None:
                known[attachment.sha256] = file_id
            else:
                pending.setdefault(attachment.sha256, attachment)
        pending_files = tuple(pending.values())
        return Staged(entry, messages, options, chosen_timeout, catalog, pending_files, known)

    def prepare(self, staged: Staged, uploaded: Mapping[str, str] | None = None) -> Prepared:
        """The chat request, its attachments replaced by the ids of their uploads."""
        ids = {**staged.known, **(uploaded or {})}
        messages = [_uploaded(m, ids) for m in staged.messages] if ids else staged.messages
        request = build_chat_request(messages, staged.model, staged.options, catalog=staged.catalog)
        return Prepared(staged.model, request, staged.timeout)

    def files_request(self, staged: Staged, attachment: Attachment) -> Request:
        """The signed metadata request (`POST /api/v1/ai/files`), with chat's headers."""
        body = upload_body(str(staged.options.thread_id), attachment.blob)
        headers = chat_headers(body, **self._signing()) | CONNECTION_HEADERS
        return Request("POST", self.files_url, headers, body, staged.timeout)

    def upload_target(
        self, status: int, headers: Mapping[str, str], body: bytes, attachment: Attachment
    ) -> UploadTarget:
        """Where to put the bytes, from the metadata answer; raises `Failed` otherwise."""
        if not 200 <= status < 300:
            lower = {k.lower(): v for k, v in headers.items()}
            raise Failed(files_failure(status, lower, body, attachment.filename))
        try:
            return upload_target(body, attachment.filename)
        except RaycastError as exc:
            raise Failed(Failure(exc)) from None

    def put_request(self, staged: Staged, target: UploadTarget, attachment: Attachment) -> Request:
        """The bytes, streamed, with exactly the headers Raycast gave and no credentials."""
        try:
            url = URL.parse(target.url)
        except ValueError:
            error = UploadError(f"Raycast's upload address {target.url[:80]!r} is not valid.")
            raise Failed(Failure(about_upload(error, attachment.filename))) from None
        body = BodyStream(attachment.size, attachment.chunks)
        return Request("PUT", url, put_headers(target), body, staged.timeout)

    def uploaded(
        self, status: int, body: bytes, target: UploadTarget, attachment: Attachment
    ) -> str:
        """The file's id once the storage took the bytes (any 2xx); remembered for reuse."""
        if not 200 <= status < 300:
            raise Failed(put_failure(status, body, attachment.filename))
        self.uploads.put(self._upload_key(attachment), target.id)
        return target.id

    def upload_failed(self, exc: Exception, attachment: Attachment) -> Failed:
        """A transport exception or an unreadable file during an upload, as a failed attempt."""
        error = exc if isinstance(exc, RaycastError) else self._transport_error(exc, None, False)
        return Failed(Failure(about_upload(error, attachment.filename)))

    def _upload_key(self, attachment: Attachment) -> tuple[str, str, str]:
        return UploadCache.key(self.settings.base_url, self.settings.token, attachment.sha256)

    def structured(
        self,
        catalog: Catalog,
        messages: Sequence[Mapping[str, Any]],
        model: str | None,
        options: ChatOptions,
        attachments: Sequence[AttachmentLike] = (),
    ) -> StructuredRun:
        """The state machine of a structured answer (`options.output`); see protocol.structured.
        Each request it asks for is staged (its files uploaded, once) like any other."""
        if not self.settings.token:
            raise MissingAuthError()
        assert options.output is not None
        entry = catalog.resolve(model, self.aliases)
        messages = with_attachments(messages, attachments)
        return StructuredRun(options.output, entry, messages, options)

    def parser(self, prepared: Prepared) -> StreamParser:
        request = prepared.request
        return StreamParser(
            signed=self.signed,
            local_tools=request.local_tools or None,
            remote_tools=request.remote_tools,
            report=_not_understood,
        )

    def status_failed(self, status: int, headers: Mapping[str, str], body: bytes) -> Failed:
        lower = {k.lower(): v for k, v in headers.items()}
        failure = status_failure(status, lower, body)
        if status == 401 and self.login is not None:
            message = f"Raycast refused your sign-in (HTTP 401). {LOGIN_AGAIN}"
            error = AuthenticationError(message, type="login_expired")
            failure = dataclasses.replace(failure, error=error)
        return Failed(failure)

    # The sign-in of `raycast-ai auth login`: renewed a minute before it expires, and once after
    # a 401 or 403. The shells send `renewal()` under a lock and pass the answer to `renewed`.

    def expiring(self) -> bool:
        return self.login is not None and self.login.expiring(self.settings.token)

    def renewable(self, failed: Failed) -> bool:
        return self.login is not None and failed.failure.status in (401, 403)

    def renewal(self, used: str | None) -> Request | None:
        """The refresh request, or None when the token changed since `used` was sent (renewed
        meanwhile, here or by another process: that one is adopted)."""
        assert self.login is not None
        if self.settings.token != used:
            return None
        newer = self.login.current(used)
        if newer is not None:
            self._use_token(newer)
            return None
        return self.login.request(self.timeout, CONNECTION_HEADERS)

    def renewed(self, status: int, body: bytes) -> None:
        assert self.login is not None
        self._use_token(self.login.renewed(status, body))
        log.info("renewed the Raycast sign-in")

    def _use_token(self, token: str) -> None:
        self.settings = dataclasses.replace(self.settings, token=token)

    def account_request(self, path: str) -> Request:
        """A GET of an account endpoint (/api/v1/me, /api/v1/ai/credits): Bearer only."""
        if not self.settings.token:
            raise MissingAuthError()
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {self.settings.token}",
            "User-Agent": USER_AGENT,
            **CONNECTION_HEADERS,
        }
        return Request("GET", self.base.join(path), headers, timeout=self.timeout)

    def account(self, status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        if status != 200:
            raise self.status_failed(status, headers, body)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise Failed(Failure(StreamDecodeError("Raycast's account reply is not JSON.")))
        return payload

    def credits(self, status: int, headers: Mapping[str, str], body: bytes) -> Credits:
        if status != 200:
            raise self.status_failed(status, headers, body)
        try:
            return parse_credits(body)
        except RaycastError as exc:
            raise Failed(Failure(exc)) from None

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
            # `retry` marks it for the command line, which says it (cli/waiting.py).
            words = retry_words(failed.failure, decision.delay)
            log.info("%s (%s)", words, type(failed.failure.error).__name__, extra={"retry": words})
        return decision


def _uploaded(message: Mapping[str, Any], ids: Mapping[str, str]) -> Mapping[str, Any]:
    content = message.get("content")
    if not isinstance(content, list | tuple) or not any(
        isinstance(p, Mapping) and p.get("type") == ATTACHMENT_PART for p in content
    ):
        return message
    parts = [
        uploaded_part(ids[p[ATTACHMENT_PART].sha256])
        if isinstance(p, Mapping) and p.get("type") == ATTACHMENT_PART
        else p
        for p in content
    ]
    return {**message, "content": parts}


def _not_understood(description: str, value: object) -> None:
    # Raycast's remote tools answer in shapes nobody has recorded: worth a look, never an error.
    log.debug("ignored in a Raycast chunk: %s: %.300r", description, value)


def give_up(decision: GiveUp, failed: Failed) -> NoReturn:
    """Raises the error the policy gave up with, chained to the transport's exception if any."""
    cause = failed.__cause__
    raise decision.error from (None if cause is decision.error else cause)


# What the shells catch from a transport: httpx2's exceptions, whichever transport raised them.
TRANSPORT_ERRORS = (httpx2.TransportError,)
