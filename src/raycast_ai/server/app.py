"""The OpenAI-compatible HTTP API over one pooled `AsyncRaycastClient`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import request_response

from raycast_ai import __version__
from raycast_ai.client import AsyncChatStream, AsyncRaycastClient
from raycast_ai.dialects.errors import ErrorInfo, error_info, invalid_request
from raycast_ai.dialects.openai_chat import (
    ChunkEncoder,
    completion_body,
    completion_id,
    error_json,
    model_list,
    model_object,
)
from raycast_ai.dialects.openai_wire import ChatCompletionRequest
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event, Notice

from .disconnect import DisconnectMiddleware
from .security import (
    APIKeyMiddleware,
    BodyLimitMiddleware,
    CORSMiddleware,
    RequestIdMiddleware,
)
from .settings import LOOPBACK_ORIGIN_REGEX, GatewaySettings
from .streaming import EventStreamResponse

log = logging.getLogger("raycast_ai.server")

REROUTED_HEADER = "x-raycast-rerouted"
# The schema's $defs stay inside it, so its $refs point there: a bare "#/$defs/..." would be
# resolved against the root of the OpenAPI document, where nothing is.
_CHAT_SCHEMA_AT = (
    "#/paths/~1v1~1chat~1completions/post/requestBody/content/application~1json/schema"
)
CHAT_REQUEST_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": ChatCompletionRequest.model_json_schema(
                    ref_template=_CHAT_SCHEMA_AT + "/$defs/{model}"
                )
            }
        },
    }
}
READY_TIMEOUT = 10.0
READY_REFRESH = 30.0
PING_PATIENCE = 5.0


def create_app(
    settings: GatewaySettings | None = None, *, client: AsyncRaycastClient | None = None
) -> FastAPI:
    """The gateway app; without `client`, its lifespan opens (and closes) one from `settings`."""
    settings = settings or GatewaySettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if client is not None:
            yield
            return
        # No retries here: OpenAI clients retry themselves, honouring the forwarded retry-after.
        limits = httpx2.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
        )
        options: dict[str, Any] = {"max_retries": 0, "limits": limits, **settings.client_options}
        async with AsyncRaycastClient(**options) as own:
            app.state.client = own
            try:
                await _catalog(app)  # warm: the first requests should not all fetch it
            except RaycastError as exc:
                log.warning("Raycast's model list is not available yet: %s", exc.message)
            yield

    app = FastAPI(
        title="raycast-ai gateway",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks look up providers on every request; a personal gateway
        # sends no telemetry (and prompts have no place in spans).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.client = client
    app.state.settings = settings
    app.state.catalog_lock = asyncio.Lock()
    _add_routes(app, settings)
    _add_error_handlers(app)
    app.add_middleware(DisconnectMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_size=settings.max_body_size)
    app.add_middleware(APIKeyMiddleware, keys=settings.api_keys)
    if settings.cors_origins is None:
        app.add_middleware(CORSMiddleware, origin_regex=LOOPBACK_ORIGIN_REGEX)
    else:
        app.add_middleware(CORSMiddleware, origins=settings.cors_origins)
    app.add_middleware(RequestIdMiddleware)
    return app


def json_response(
    payload: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, headers, media_type="application/json")


def error_response(info: ErrorInfo) -> Response:
    return Response(error_json(info), info.status, info.headers, media_type="application/json")


def _client(app: FastAPI) -> AsyncRaycastClient:
    client: AsyncRaycastClient | None = app.state.client
    if client is None:
        raise RuntimeError("the gateway's Raycast client is not open (lifespan did not run)")
    return client


async def _catalog(app: FastAPI, *, refresh: bool = False) -> Catalog:
    """The catalog, fetched by one request at a time: when it is missing or stale, a burst of
    requests would otherwise each fetch (and store) it. The others then find it cached."""
    async with app.state.catalog_lock:
        return await _client(app).models(refresh=refresh)


def _header_value(message: str) -> str:
    """A Raycast notice made safe for an HTTP header: printable ASCII, one line, bounded."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in message).strip()
    return cleaned[:200] or "true"


def _rerouted(events: list[Event]) -> str | None:
    for event in events:
        if isinstance(event, Notice) and event.kind == "model_updated":
            return event.message or "true"
    return None


async def _first_events(stream: AsyncChatStream) -> list[Event]:
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
            first.append(event)
            if not isinstance(event, Notice):
                break
            if event.kind == "ping" and time.monotonic() - started > PING_PATIENCE:
                break
    except BaseException:
        await stream.aclose()
        raise
    return first


def _add_routes(app: FastAPI, settings: GatewaySettings) -> None:
    @app.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok"})

    last_check = [-math.inf]

    @app.get("/ready")
    async def ready(request: Request) -> Response:
        """200 once Raycast's model list was fetched within READY_REFRESH seconds, else 503."""
        stale = time.monotonic() - last_check[0] > READY_REFRESH
        try:
            with anyio.fail_after(READY_TIMEOUT):
                catalog = await _catalog(request.app, refresh=stale)
        except RaycastError as exc:
            info = error_info(exc)
            return error_response(ErrorInfo(503, info.message, info.type, info.code))
        except TimeoutError:
            late = "Raycast's model list did not arrive in time."
            return error_response(ErrorInfo(503, late, "timeout_error", "upstream_timeout"))
        if stale:
            last_check[0] = time.monotonic()
        return json_response({"status": "ready", "models": len(catalog.models)})

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        catalog = await _catalog(request.app)
        visible = catalog.visible(
            premium=settings.include_premium, deprecated=settings.include_deprecated
        )
        return json_response(model_list(visible))

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str, request: Request) -> Response:
        catalog = await _catalog(request.app)
        # The names chat accepts (provider model names, aliases) answer too; unknown ones raise.
        entry = catalog.get(model_id) or catalog.resolve(model_id)
        return json_response(model_object(entry))

    # The body is validated here rather than by FastAPI's dependency machinery: one pydantic
    # call straight from the bytes is the cheapest path, and the hottest route deserves it.
    @app.post("/v1/chat/completions", openapi_extra=CHAT_REQUEST_SCHEMA)
    async def chat_completions(request: Request) -> Response:
        try:
            body = ChatCompletionRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_input=False)) from None
        if body.n is not None and body.n != 1:
            return error_response(
                invalid_request("Only n=1 is supported: Raycast gives one answer.", param="n")
            )
        await _catalog(request.app)  # so that `stream` below finds it cached
        stream = await _client(request.app).stream(
            [m.to_client() for m in body.messages],
            body.model,
            temperature=body.temperature,
            reasoning_effort=body.effort,
            tools=body.tools or (),
            tool_choice=body.tool_choice,
        )
        id, created = completion_id(), int(time.time())
        if body.stream:
            first = await _first_events(stream)
            headers: dict[str, str] = {}
            rerouted = _rerouted(first)
            if rerouted is not None:
                log.info("Raycast rerouted a request for %s: %s", stream.model.id, rerouted)
                headers[REROUTED_HEADER] = _header_value(rerouted)
            encoder = ChunkEncoder(id, created, stream.model.id, include_usage=body.include_usage)
            return EventStreamResponse(stream, encoder, first, headers)
        collector = Collector()
        async with stream:
            async for event in stream:
                collector.add(event)
        completion = collector.result(stream.model.id)
        headers = {}
        if completion.rerouted is not None:
            message = completion.rerouted.message or "true"
            log.info("Raycast rerouted a request for %s: %s", stream.model.id, message)
            headers[REROUTED_HEADER] = _header_value(message)
        return json_response(completion_body(id, created, completion), headers=headers)

    # FastAPI documents the route (its OpenAPI entry, which the fuzz tests read too); Starlette's
    # plain request-response wrapper runs it. The endpoint takes the bare Request, so FastAPI's
    # dependency solving (query string, cookies, a Response for headers) was pure overhead,
    # about a tenth of the route's CPU.
    [route] = [r for r in app.router.routes if getattr(r, "path", None) == "/v1/chat/completions"]
    assert isinstance(route, APIRoute)
    route.app = request_response(chat_completions)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RaycastError)
    async def raycast_error(request: Request, exc: RaycastError) -> Response:
        info = error_info(exc)
        log.info(
            "%s %s -> %d %s (%s)",
            request.method,
            request.url.path,
            info.status,
            info.code,
            type(exc).__name__,
        )
        return error_response(info)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(_validation_info(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        code = "not_found" if exc.status_code == 404 else None
        info = ErrorInfo(
            exc.status_code, str(exc.detail), kind, code, None, dict(exc.headers or {})
        )
        return error_response(info)


def _validation_info(exc: RequestValidationError) -> ErrorInfo:
    """A 400 naming the offending field; the submitted values (prompts) are never echoed."""
    errors = exc.errors()
    if not errors:
        return invalid_request("The request body is not valid.")
    first = errors[0]
    if first.get("type") == "json_invalid":
        return invalid_request("The request body is not valid JSON.", code="invalid_json")
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    if param is None:
        return invalid_request("The request body must be a JSON object with 'messages'.")
    where = f" at '{param}'"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    message = f"Invalid request{where}: {first.get('msg', 'not valid')}{more}."
    return invalid_request(message, param=param)
