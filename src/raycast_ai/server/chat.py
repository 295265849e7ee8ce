"""The one chat route, for every dialect: parse, stream through the client, encode.

Errors before the first event get the dialect's status and body; after it, the dialect's
in-stream error. Notices do not commit the response to 200 (see `first_events`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from raycast_ai.client import AsyncChatStream, AsyncRaycastClient
from raycast_ai.dialects.base import Chat, Dialect, completion_usage, rerouted
from raycast_ai.dialects.errors import BadRequest, error_info
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event, Notice

from . import metrics
from .attachments import resolve as resolve_attachments
from .metering import admit, meter, record
from .pool import AccountPool
from .replies import error_response as error_response
from .replies import json_response as json_response
from .security import request_key
from .streaming import EventStreamResponse

log = logging.getLogger("raycast_ai.server")

REROUTED_HEADER = "x-raycast-rerouted"
USAGE_HEADER = "x-raycast-usage"
PING_PATIENCE = 5.0

Endpoint = Callable[[Request], Awaitable[Response]]
Catalogs = Callable[[Request], Awaitable[Catalog]]


def failed(request: Request, dialect: Dialect, exc: RaycastError) -> Response:
    """A request Raycast or the client refused, answered in the dialect's shape, and logged."""
    info = error_info(exc)
    log.info(
        "%s %s -> %d %s (%s)",
        request.method,
        request.url.path,
        info.status,
        info.code,
        type(exc).__name__,
    )
    return error_response(dialect, info)


def chat_endpoint(dialect: Dialect, catalog: Catalogs) -> Endpoint:
    """The route of `dialect`: its body in, its stream or body out, its errors."""

    async def endpoint(request: Request) -> Response:
        refused, limits = await admit(request, dialect)
        if refused is not None:
            return refused
        try:
            chat = dialect.parse(await request.body())
            chat = await resolve_attachments(chat, request.app.state.settings)
            current = await catalog(request)  # so that `stream` below finds it cached
            stream, first = await started(request, chat)
            if chat.stream:
                answered, headers = answered_model(current, stream.model, first)
                encoder = dialect.encoder(chat, answered.id)
                used = meter(request, chat, answered.id)
                return EventStreamResponse(stream, encoder, first, headers | limits, meter=used)
            collector = Collector()
            async with stream:
                for event in first:
                    collector.add(event)
                async for event in stream:
                    collector.add(event)
        except BadRequest as exc:
            return error_response(dialect, exc.info)
        except RaycastError as exc:
            return failed(request, dialect, exc)
        completion = collector.result(stream.model.id)
        answered, headers = answered_model(current, stream.model, completion.notices)
        usage, estimated = completion_usage(chat, completion)
        if estimated:  # the dialect's body estimates it too
            headers[USAGE_HEADER] = "estimated"
        record(request, answered.id, usage)
        return json_response(dialect.body(chat, completion, answered.id), headers=headers | limits)

    return endpoint


def answered_model(
    catalog: Catalog, asked: ModelEntry, events: tuple[Notice, ...] | list[Event]
) -> tuple[ModelEntry, dict[str, str]]:
    """The model that answered (another when Raycast rerouted), and the headers saying so."""
    notice = rerouted(events)
    if notice is None:
        return asked, {}
    message = notice.message or "true"
    answered = catalog.rerouted_to(message, asked)
    log.info("Raycast rerouted a request for %s to %s: %s", asked.id, answered.id, message)
    return answered, {REROUTED_HEADER: _header_value(message)}


def _header_value(message: str) -> str:
    """A Raycast notice made safe for an HTTP header: printable ASCII, one line, bounded."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in message).strip()
    return cleaned[:200] or "true"


async def started(request: Request, chat: Chat) -> tuple[AsyncChatStream, list[Event]]:
    """The stream of `chat` on the Raycast account chosen for the request (`pool.AccountPool`),
    and its first events: a rate limit or quota error among them reaches no client yet, so the
    pool may still move the request to another account."""

    async def attempt(client: AsyncRaycastClient) -> tuple[AsyncChatStream, list[Event]]:
        stream = client.stream(chat.messages, chat.model, options=chat.options)
        return stream, await first_events(stream)

    state = request.app.state
    pool: AccountPool | None = getattr(state, "accounts", None)
    if pool is None:
        raise RuntimeError("the gateway's Raycast clients are not open (lifespan did not run)")
    return await pool.run(request_key(request.scope), state.cooldowns, attempt)


async def first_events(stream: AsyncChatStream) -> list[Event]:
    """Upstream events up to the first one that commits the response to 200.

    Notices do not commit: Raycast opens every answer with provider_status and ping, and an
    error (context_error, credits_error) that follows them must still get its own status. Only
    after `PING_PATIENCE` seconds of pings does a ping commit, so a long think keeps the client's
    connection alive with comments instead of silence.
    """
    first: list[Event] = []
    started = time.monotonic()
    try:
        async for event in stream:
            if not first:
                metrics.upstream_latency(time.monotonic() - started)
            first.append(event)
            if not isinstance(event, Notice):
                break
            if event.kind == "ping" and time.monotonic() - started > PING_PATIENCE:
                break
    except BaseException:
        await stream.aclose()
        raise
    return first
