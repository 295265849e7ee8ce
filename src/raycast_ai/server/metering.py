"""Per-key rate limits and usage accounting around every chat route, over the app's shared
state (`store.shared`), and `GET /v1/usage`.

A request is counted against its key's limit before anything goes upstream; a refusal is a 429
in the route's dialect with `retry-after` and OpenAI's `x-ratelimit-*` headers. When the store
cannot answer, `rate_limit_fail` decides: "open" lets requests through (logged once per
outage), "closed" refuses them with a 503. Usage (requests, tokens by key and model) is recorded
after each answer without waiting for the store.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from raycast_ai.dialects.base import Chat, Dialect, estimate_usage
from raycast_ai.dialects.errors import ErrorInfo
from raycast_ai.protocol.events import Event, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from raycast_ai.store.base import Decision, RateLimit, StoreError
from raycast_ai.store.limits import describe
from raycast_ai.store.shared import Shared, open_shared

from . import metrics
from .replies import error_response, json_response
from .routes import DEFAULT_DIALECT
from .security import ANONYMOUS, request_key

log = logging.getLogger("raycast_ai.server")

FAIL_OPEN = "open"
FAIL_CLOSED = "closed"


def shared_state(app: Starlette) -> Shared:
    """The app's shared state: opened by the lifespan, else here on first use (in-process
    tests), embedded in the data folder of the gateway's Raycast client unless a store is set."""
    state = app.state
    shared: Shared | None = getattr(state, "shared", None)
    if shared is None:
        settings = state.settings
        if state.client is None:
            raise RuntimeError("the gateway's Raycast client is not open (lifespan did not run)")
        shared = open_shared(settings.store_url, state.client.settings.home, settings)
        state.shared = shared
        state.cooldowns = shared.cooldowns
    return shared


async def admit(request: Request, dialect: Dialect) -> tuple[Response | None, dict[str, str]]:
    """A refusal to answer instead (rate limited, or the limiter away and failing closed), or
    None and the rate-limit headers for the answer."""
    shared = shared_state(request.app)  # opened before anything goes upstream (cooldowns)
    settings = request.app.state.settings
    limit: RateLimit | None = settings.rate_limit
    if limit is None:
        return None, {}
    state = request.app.state
    try:
        decision = await shared.limits.hit(request_key(request.scope), limit)
    except StoreError as exc:
        if not getattr(state, "limiter_down", False):
            state.limiter_down = True
            fail = settings.rate_limit_fail
            log.warning("rate limits cannot be checked (failing %s): %s", fail, exc)
        if settings.rate_limit_fail == FAIL_OPEN:
            return None, {}
        message = (
            f"The rate limiter is unavailable ({exc}), and this gateway refuses requests it "
            "cannot count (--rate-limit-fail closed). Try again shortly."
        )
        info = ErrorInfo(
            503, message, "server_error", "rate_limiter_unavailable", None, {"retry-after": "1"}
        )
        return error_response(dialect, info), {}
    if getattr(state, "limiter_down", False):
        state.limiter_down = False
        log.warning("rate limits are checked again")
    headers = _headers(limit, decision)
    if decision.allowed:
        return None, headers
    metrics.rate_limited(request_key(request.scope))
    wait = max(1, math.ceil(decision.retry_after))
    message = f"Rate limit reached for this key: {describe(limit)}. Try again in {wait} s."
    headers |= {"retry-after": str(wait), "retry-after-ms": str(int(decision.retry_after * 1000))}
    info = ErrorInfo(429, message, "rate_limit_error", "rate_limit_exceeded", None, headers)
    return error_response(dialect, info), {}


def _headers(limit: RateLimit, decision: Decision) -> dict[str, str]:
    headers = {
        "x-ratelimit-limit-requests": str(limit.requests),
        "x-ratelimit-remaining-requests": str(decision.remaining),
    }
    if not decision.allowed:
        headers["x-ratelimit-reset-requests"] = _duration(decision.retry_after)
    return headers


def _duration(seconds: float) -> str:
    """OpenAI's notation: `1s`, `6m0s`, `1h2m3s`, `120ms`."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


class Meter:
    """One answer's usage, counted as its events pass: Raycast's `Usage` when it sends one,
    else an estimate of what was said (as the dialects estimate it)."""

    __slots__ = ("_chat", "_done", "_key", "_model", "_shared", "said", "usage")

    def __init__(self, shared: Shared, key: str, chat: Chat, model: str) -> None:
        self._shared = shared
        self._key = key
        self._chat = chat
        self._model = model
        self._done = False
        self.usage: Usage | None = None
        self.said: list[str] = []

    def add(self, events: Sequence[Event]) -> None:
        # Nearly every event is text: one comprehension for them, a loop only for the rest.
        texts = [e.text for e in events if type(e) is TextDelta]
        self.said += texts
        if len(texts) == len(events):
            return
        for event in events:
            if isinstance(event, ReasoningDelta):
                self.said.append(event.text)
            elif isinstance(event, ToolCallDelta):
                self.said.append(event.name + event.arguments)
            elif isinstance(event, Usage):
                self.usage = event

    def done(self) -> None:
        """Records the usage once; never raises, never waits."""
        if self._done:
            return
        self._done = True
        try:
            usage = self.usage or estimate_usage(self._chat.messages, self.said)
            self._shared.usage.add(self._key, self._model, usage.input_tokens, usage.output_tokens)
        except Exception:
            log.exception("recording usage failed")


def meter(request: Request, chat: Chat, model: str) -> Meter:
    return Meter(shared_state(request.app), request_key(request.scope), chat, model)


def record(request: Request, model: str, usage: Usage) -> None:
    """Records a whole answer's usage (see `Meter.done`)."""
    try:
        shared = shared_state(request.app)
        shared.usage.add(request_key(request.scope), model, usage.input_tokens, usage.output_tokens)
    except Exception:
        log.exception("recording usage failed")


async def usage(request: Request) -> Response:
    """`GET /v1/usage[?key=key-…]`. A gateway with keys shows each key its own usage only;
    one without keys (loopback, one user) shows everything, `?key=` filtering."""
    own = request_key(request.scope)
    asked = request.query_params.get("key") or None
    if own != ANONYMOUS:
        if asked not in (None, own):
            message = (
                f"This key ({own}) may read only its own usage, not that of "
                f"'{asked[:40]}'. Ask with that key, or omit ?key=."
            )
            info = ErrorInfo(403, message, "permission_error", "usage_of_another_key")
            return error_response(DEFAULT_DIALECT, info)
        asked = own
    shared = shared_state(request.app)
    try:
        records = await shared.usage.report(asked)
    except StoreError as exc:
        info = ErrorInfo(503, f"Usage is unavailable: {exc}", "server_error", "store_unavailable")
        return error_response(DEFAULT_DIALECT, info)
    data = [
        {
            "key": r.key,
            "model": r.model,
            "requests": r.requests,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
        }
        for r in records
    ]
    totals: dict[str, Any] = {
        name: sum(row[name] for row in data)
        for name in ("requests", "input_tokens", "output_tokens")
    }
    return json_response({"object": "usage", "key": asked, "data": data, "totals": totals})


def usage_routes() -> Sequence[Route]:
    return [Route("/v1/usage", usage, methods=["GET"])]
