"""The Responses API routes: `POST /v1/responses` (the chat route's steps, plus the response
store and `previous_response_id`), `GET` and `DELETE /v1/responses/{id}`, its `input_items`, and
`POST /v1/responses/input_tokens`.

Responses are stored unless the request says `store: false` (as Codex does): in the app's
shared state (SQLite in the data folder of the gateway's Raycast client, or the Redis of
`--store`), for `GatewaySettings.response_store_ttl` seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from raycast_ai.dialects import openai_responses as dialect
from raycast_ai.dialects.attachments import described
from raycast_ai.dialects.base import Chat, completion_usage
from raycast_ai.dialects.errors import (
    NO_RETRY,
    BadRequest,
    ErrorInfo,
    invalid_request,
)
from raycast_ai.dialects.openai_responses_events import ResponsesEncoder, context_of
from raycast_ai.dialects.openai_responses_wire import clamp_effort, convert_tools
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.remote import WEB_SEARCH
from raycast_ai.store import ResponseStore, StoredResponse, StoreError
from raycast_ai.store.base import StoreUnavailable
from raycast_ai.store.write_behind import WriteBehindStore

from .attachments import resolve as resolve_attachments
from .chat import (
    USAGE_HEADER,
    Catalogs,
    Endpoint,
    answered_model,
    error_response,
    failed,
    json_response,
    started,
)
from .metering import admit, meter, record, shared_state
from .streaming import EventStreamResponse

log = logging.getLogger("raycast_ai.server")

PATH = "/v1/responses"


def response_routes(catalog: Catalogs) -> list[Route]:
    async def create(request: Request) -> Response:
        refused, limits = await admit(request, dialect)
        if refused is not None:
            return refused
        try:
            chat = dialect.parse(await request.body())
            context = context_of(chat)
            store = _store(request)
            chat, history = await _continued(chat, store)
            chat = await resolve_attachments(chat, request.app.state.settings)
            current = await catalog(request)  # so that `stream` below finds it cached
            chat = _clamped(chat, current)
            chat, unsearchable = _searchable(chat, current)
            conversation = [*history, *described(context.input)]
            headers = _dropped(request, (*context.dropped_tools, *unsearchable))
            stream, first = await started(request, chat)
            if chat.stream:
                answered, rerouted = answered_model(current, stream.model, first)
                encoder = ResponsesEncoder(chat, answered.id)

                async def keep() -> None:
                    if encoder.response is not None:
                        await _keep(store, encoder.response, conversation)

                hook = keep if context.store else None
                headers |= rerouted | limits
                used = meter(request, chat, answered.id)
                return EventStreamResponse(
                    stream, encoder, first, headers, on_complete=hook, meter=used
                )
            collector = Collector()
            async with stream:
                for event in first:
                    collector.add(event)
                async for event in stream:
                    collector.add(event)
        except RaycastError as exc:
            return failed(request, dialect, exc)
        completion = collector.result(stream.model.id)
        answered, rerouted = answered_model(current, stream.model, completion.notices)
        headers |= rerouted | limits
        usage, estimated = completion_usage(chat, completion)
        if estimated:  # the dialect's body estimates it too
            headers[USAGE_HEADER] = "estimated"
        record(request, answered.id, usage)
        body = dialect.body(chat, completion, answered.id)
        if context.store:
            await _keep(store, body, conversation)
        return json_response(body, headers=headers)

    async def count(request: Request) -> Response:
        """`POST /v1/responses/input_tokens`: an estimate, never a call to Raycast."""
        chat = dialect.parse(await request.body())
        chat, _ = await _continued(chat, _store(request))
        tokens = dialect.input_tokens(chat)
        return json_response({"object": "response.input_tokens", "input_tokens": tokens})

    async def items(request: Request) -> Response:
        """`GET /v1/responses/{id}/input_items`, with `limit`, `order` and `after`."""
        response_id: str = request.path_params["response_id"]
        limit, order, after = _page(request)
        stored = await _store(request).get(response_id)
        if stored is None:
            return error_response(dialect, _not_found(response_id))
        tools = convert_tools(stored.response.get("tools") or ()).names
        data = dialect.input_items(stored.messages, tools, response_id)
        if order == "desc":
            data.reverse()
        ids = [item["id"] for item in data]
        if after is not None:
            data = data[ids.index(after) + 1 :] if after in ids else []
        page = data[:limit]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(data) > limit,
            }
        )

    async def retrieve(request: Request) -> Response:
        response_id: str = request.path_params["response_id"]
        stored = await _store(request).get(response_id)
        if stored is None:
            return error_response(dialect, _not_found(response_id))
        if request.query_params.get("stream", "").lower() == "true":
            stream = dialect.replay(stored.response).encode()
            return Response(stream, media_type="text/event-stream")
        return json_response(stored.response)

    async def delete(request: Request) -> Response:
        response_id: str = request.path_params["response_id"]
        if not await _store(request).delete(response_id):
            return error_response(dialect, _not_found(response_id))
        return json_response({"id": response_id, "object": "response", "deleted": True})

    return [
        Route(PATH, _answering(create), methods=["POST"]),
        Route(PATH + "/input_tokens", _answering(count), methods=["POST"]),
        Route(PATH + "/{response_id}/input_items", _answering(items), methods=["GET"]),
        Route(PATH + "/{response_id}", _answering(retrieve), methods=["GET"]),
        Route(PATH + "/{response_id}", _answering(delete), methods=["DELETE"]),
    ]


def _answering(handler: Endpoint) -> Endpoint:
    """`handler`, with a refused request and a failing store answered in OpenAI's shape."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            return error_response(dialect, exc.info)
        except StoreUnavailable as exc:
            message = (
                f"The gateway's response store is unavailable: {exc}. Stored responses and "
                "previous_response_id work again once it is back; a request without "
                "previous_response_id and with store: false does not need it."
            )
            info = ErrorInfo(503, message, "server_error", "store_unavailable")
            return error_response(dialect, info)
        except StoreError as exc:
            log.error("%s %s: %s", request.method, request.url.path, exc)
            failed = "The gateway's response store failed."
            info = ErrorInfo(500, failed, "server_error", "store_failed", None, NO_RETRY)
            return error_response(dialect, info)

    return endpoint


def _store(request: Request) -> ResponseStore:
    """The app's store: `app.state.response_store` when one was set, else that of the app's
    shared state (`metering.shared_state`: SQLite in the data folder, written behind the
    answers, or Redis)."""
    store: ResponseStore | None = getattr(request.app.state, "response_store", None)
    return store if store is not None else shared_state(request.app).responses


async def _keep(
    store: ResponseStore, response: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]
) -> None:
    """Stores the answer; a store that fails costs the client its `previous_response_id`, not
    the answer (the failure is logged)."""
    try:
        put = store.put(str(response["id"]), StoredResponse(response, messages))
        # The write-behind store takes it without waiting (and without a task of its own);
        # another is shielded, so a client that leaves right after the answer still finds it.
        await (put if isinstance(store, WriteBehindStore) else asyncio.shield(put))
    except StoreError as exc:
        log.warning("storing response %s failed: %s", response["id"], exc)
    except Exception:
        log.exception("storing response %s failed", response["id"])


async def _continued(chat: Chat, store: ResponseStore) -> tuple[Chat, list[Mapping[str, Any]]]:
    """`chat` after the conversation of its `previous_response_id`, and that conversation; an
    unknown id raises the 404 to answer (never a fresh conversation)."""
    context = context_of(chat)
    if context.previous_response_id is None:
        return chat, []
    previous = await store.get(context.previous_response_id)
    if previous is None:
        raise BadRequest(_previous_not_found(context.previous_response_id))
    output = previous.response.get("output") or []
    history = [*previous.messages, *dialect.output_messages(output, context.tools)]
    return dialect.with_history(chat, history), history


def _page(request: Request) -> tuple[int, str, str | None]:
    query = request.query_params
    limit = query.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise BadRequest(invalid_request("'limit' must be from 1 to 100.", param="limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadRequest(invalid_request("'order' must be asc or desc.", param="order"))
    return int(limit), order, query.get("after")


def _clamped(chat: Chat, catalog: Catalog) -> Chat:
    """`chat` with its reasoning effort moved to the nearest one the model offers."""
    effort = chat.options.reasoning_effort
    if effort is None:
        return chat
    try:
        entry = catalog.resolve(chat.model)
    except RaycastError:
        return chat  # the stream raises it, in the dialect's shape
    clamped = clamp_effort(effort, entry.reasoning_efforts)
    if clamped == effort:
        return chat
    return dataclasses.replace(
        chat, options=dataclasses.replace(chat.options, reasoning_effort=clamped)
    )


def _searchable(chat: Chat, catalog: Catalog) -> tuple[Chat, tuple[str, ...]]:
    """`chat` without web search when its model cannot search, and the tools so left out:
    Codex offers web search on every turn, which must not fail for such a model."""
    remote = chat.options.remote_tools
    if WEB_SEARCH not in remote:
        return chat, ()
    try:
        entry = catalog.resolve(chat.model)
    except RaycastError:
        return chat, ()  # the stream raises it, in the dialect's shape
    if entry.supports_web_search:
        return chat, ()
    kept = tuple(name for name in remote if name != WEB_SEARCH)
    choice = chat.options.tool_choice
    if isinstance(choice, Mapping) and choice.get("name") == WEB_SEARCH:
        choice = "auto"
    options = dataclasses.replace(chat.options, remote_tools=kept, tool_choice=choice)
    return dataclasses.replace(chat, options=options), (WEB_SEARCH,)


def _dropped(request: Request, names: Sequence[str]) -> dict[str, str]:
    if not names:
        return {}
    listed = ", ".join(names)
    log.info("%s %s: tools Raycast cannot run were left out: %s", request.method, PATH, listed)
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in listed)
    return {dialect.DROPPED_TOOLS_HEADER: cleaned[:500]}


def _previous_not_found(response_id: str) -> ErrorInfo:
    return ErrorInfo(
        404,
        f"Previous response with id '{_printable(response_id)}' not found.",
        "invalid_request_error",
        "previous_response_not_found",
        "previous_response_id",
    )


def _not_found(response_id: str) -> ErrorInfo:
    return ErrorInfo(
        404,
        f"No response found with id '{_printable(response_id)}'.",
        "invalid_request_error",
        "not_found",
    )


def _printable(value: str, limit: int = 100) -> str:
    return "".join(c if c.isprintable() else "?" for c in value[:limit])
