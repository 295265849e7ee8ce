"""The gateway: plain Starlette routes over a pooled `AsyncRaycastClient` per Raycast account
(`pool.AccountPool`), behind pure ASGI middleware. Each chat route is one dialect
(`routes.CHAT_ROUTES`) on the shared `chat_endpoint`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.dialects.errors import ErrorInfo, error_info
from raycast_ai.dialects.openai_models import model_list, model_object
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.errors import RaycastError

from . import metrics
from .accounts import accounts_path, check_pins, load_accounts
from .anthropic import anthropic_routes
from .chat import chat_endpoint, error_response, failed, json_response
from .disconnect import DisconnectMiddleware
from .metering import shared_state, usage_routes
from .openapi import openapi_document
from .pool import DEFAULT_ACCOUNT, AccountPool, Upstream, opened
from .responses import response_routes
from .routes import CHAT_ROUTES, DEFAULT_DIALECT, OWN_ROUTES, dialect_for
from .security import (
    APIKeyMiddleware,
    BodyLimitMiddleware,
    CORSMiddleware,
    HostMiddleware,
    RequestIdMiddleware,
)
from .settings import LOOPBACK_ORIGIN_REGEX, GatewaySettings

log = logging.getLogger("raycast_ai.server")

READY_TIMEOUT = 10.0
READY_REFRESH = 30.0


def create_app(
    settings: GatewaySettings | None = None, *, client: AsyncRaycastClient | None = None
) -> Starlette:
    """The gateway app; without `client`, its lifespan opens (and closes) one per account of
    `settings` (or one of its `client_options`). Without `settings`, they come from the
    environment, the accounts file included (`accounts.accounts_path`)."""
    if settings is None:
        settings = GatewaySettings.from_env(accounts=load_accounts(accounts_path()))
    if client is not None and settings.accounts:
        raise ValueError("Give create_app a client or settings with accounts, not both.")
    check_pins(settings.accounts, settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with contextlib.AsyncExitStack() as stack:
                if client is None:
                    own = functools.partial(_own_client, settings)
                    home = settings.client_options.get("home")
                    pool = await stack.enter_async_context(
                        opened(settings.accounts, own, home, cools=settings.cool_accounts)
                    )
                    app.state.accounts, app.state.client = pool, pool.primary.client
                    try:
                        await _catalog(app)  # warm: the first requests should not all fetch it
                    except RaycastError as exc:
                        log.warning("Raycast's model list is not available yet: %s", exc.message)
                problem = await shared_state(app).problem()
                if problem is not None:
                    log.warning("Starting degraded: %s", problem)
                yield
        finally:
            # Answers already sent may still be on their way to the store.
            shared = getattr(app.state, "shared", None)
            if shared is not None:
                await shared.aclose()

    cors = (
        Middleware(CORSMiddleware, origin_regex=LOOPBACK_ORIGIN_REGEX)
        if settings.cors_origins is None
        else Middleware(CORSMiddleware, origins=settings.cors_origins)
    )
    host = (
        []
        if settings.allowed_hosts is None
        else [Middleware(HostMiddleware, names=settings.allowed_hosts)]
    )
    counts = metrics.Metrics()
    app = Starlette(
        routes=_busiest_first(_routes(settings)),
        middleware=[
            Middleware(metrics.MetricsMiddleware, metrics=counts),
            Middleware(RequestIdMiddleware),
            *host,
            cors,
            Middleware(APIKeyMiddleware, keys=settings.api_keys),
            Middleware(BodyLimitMiddleware, max_size=settings.max_body_size),
            Middleware(DisconnectMiddleware),
        ],
        exception_handlers={HTTPException: _http_error, RaycastError: _raycast_error},
        lifespan=lifespan,
    )
    app.state.client = client
    if client is not None:
        only = Upstream(DEFAULT_ACCOUNT, client)
        app.state.accounts = AccountPool([only], cools=settings.cool_accounts)
    app.state.settings = settings
    # Opened by the lifespan, else on first use (`metering.shared_state`); `cooldowns` is
    # `shared.cooldowns`.
    app.state.shared = None
    app.state.cooldowns = None
    app.state.metrics = counts
    app.state.catalog_lock = asyncio.Lock()
    return app


def _own_client(settings: GatewaySettings, **credentials: Any) -> AsyncRaycastClient:
    """A client of `settings`, with an account's `credentials` over their own."""
    # No retries here: OpenAI clients retry themselves, honouring the forwarded retry-after.
    limits = httpx2.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_keepalive_connections,
    )
    options: dict[str, Any] = {"max_retries": 0, "limits": limits, **settings.client_options}
    return AsyncRaycastClient(**options | credentials)


def _client(request: Request) -> AsyncRaycastClient:
    client: AsyncRaycastClient | None = request.app.state.client
    if client is None:
        raise RuntimeError("the gateway's Raycast client is not open (lifespan did not run)")
    return client


async def _catalog(app: Starlette, *, refresh: bool = False) -> Catalog:
    """The catalog, fetched by one request at a time: when it is missing or stale, a burst of
    requests would otherwise each fetch (and store) it. The others then find it cached."""
    async with app.state.catalog_lock:
        client: AsyncRaycastClient | None = app.state.client
        if client is None:
            raise RuntimeError("the gateway's Raycast client is not open (lifespan did not run)")
        return await client.models(refresh=refresh)


async def _request_catalog(request: Request) -> Catalog:
    return await _catalog(request.app)


def _routes(settings: GatewaySettings) -> list[Route]:
    last_check = [-math.inf]

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def ready(request: Request) -> Response:
        """200 once Raycast's model list was fetched within READY_REFRESH seconds, a token is
        configured and the shared store answers; else 503 with `ready: false` and the reason."""
        reason = missing_credentials(_client(request)) or await shared_state(request.app).problem()
        if reason is not None:
            return json_response({"status": "not ready", "ready": False, "reason": reason}, 503)
        stale = time.monotonic() - last_check[0] > READY_REFRESH
        try:
            with anyio.fail_after(READY_TIMEOUT):
                catalog = await _catalog(request.app, refresh=stale)
        except RaycastError as exc:
            info = error_info(exc)
            return _error(ErrorInfo(503, info.message, info.type, info.code))
        except TimeoutError:
            late = "Raycast's model list did not arrive in time."
            return _error(ErrorInfo(503, late, "timeout_error", "upstream_timeout"))
        if stale:
            last_check[0] = time.monotonic()
        return json_response({"status": "ready", "ready": True, "models": len(catalog.models)})

    async def list_models(request: Request) -> Response:
        catalog = await _catalog(request.app)
        visible = catalog.visible(
            premium=settings.include_premium, deprecated=settings.include_deprecated
        )
        return json_response(model_list(visible))

    async def get_model(request: Request) -> Response:
        model_id: str = request.path_params["model_id"]
        catalog = await _catalog(request.app)
        # The names chat accepts (provider model names, aliases) answer too; unknown ones raise.
        entry = catalog.get(model_id) or catalog.resolve(model_id, _client(request).aliases)
        return json_response(model_object(entry))

    async def openapi(request: Request) -> Response:
        return json_response(openapi_document())

    async def embeddings(request: Request) -> Response:
        """Not a 501: OpenAI clients retry every 5xx. Not a bare 404: it says why."""
        message = (
            "Embeddings are not supported by this gateway: Raycast AI offers no embedding "
            "models (POST /v1/embeddings)."
        )
        return _error(ErrorInfo(404, message, "invalid_request_error", "unknown_url"))

    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/metrics", metrics.scrape, methods=["GET"]),
        *anthropic_routes(),
        *response_routes(_request_catalog),
        *usage_routes(),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        *(
            Route(path, chat_endpoint(dialect, _request_catalog), methods=["POST"])
            for path, dialect in CHAT_ROUTES.items()
        ),
    ]


def _busiest_first(routes: list[Route]) -> list[Route]:
    """The chat routes first: Starlette tries each route's pattern in turn, and they are what a
    gateway answers most (after 15 other patterns, 4 % of a streamed request's CPU). Their paths
    are fixed and no other route's pattern takes them, so no request changes route."""
    busy = CHAT_ROUTES.keys() | OWN_ROUTES.keys()
    return sorted(routes, key=lambda route: route.path not in busy)


def missing_credentials(client: AsyncRaycastClient) -> str | None:
    """Why no chat request can succeed with this client's settings, or None. The model list
    answers without a token, so fetching it alone would call a gateway ready that is not."""
    settings = client.settings
    if not settings.token:
        return (
            "No Raycast token: every chat request would fail. Set RAYCAST_TOKEN or run "
            "'raycast-ai auth set', then restart the gateway."
        )
    return None


def _error(info: ErrorInfo, path: str = "") -> Response:
    return error_response(dialect_for(path) if path else DEFAULT_DIALECT, info)


async def _raycast_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RaycastError)
    return failed(request, dialect_for(request.url.path), exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing's errors, as OpenAI answers them: an unknown route is a 404 naming the method and
    path (so that a client does not read it as "model not found")."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        where = f"{request.method} {_printable(request.url.path)}"
        info = ErrorInfo(404, f"Invalid URL ({where})", "invalid_request_error", "not_found")
    elif status == 405:
        allowed = headers.get("Allow", "")
        message = f"Method {request.method} is not allowed on {_printable(request.url.path)}"
        info = ErrorInfo(
            405, f"{message} (allowed: {allowed}).", "invalid_request_error", None, None, headers
        )
    else:
        kind = "invalid_request_error" if status < 500 else "server_error"
        info = ErrorInfo(status, str(exc.detail), kind, None, None, headers)
    return _error(info, request.url.path)


def _printable(path: str, limit: int = 200) -> str:
    """A path as echoed back: printable and bounded."""
    cleaned = "".join(c if c.isprintable() else "?" for c in path)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."
