"""The gateway's numbers for Prometheus: `GET /metrics` in the text format 0.0.4, per app.

`MetricsMiddleware` runs each request with its app's `Metrics` in a context variable, so code
anywhere on the request's path counts with a module function (`error(info)`,
`rate_limited(key_id)`, ...) without being handed the app; outside a request they count
nothing. Every count is an int or dict update on the event loop, once per request or per
stream, never per event. Each process (each replica) keeps and serves its own numbers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from raycast_ai.dialects.errors import ErrorInfo

from .routes import CHAT_ROUTES, OWN_ROUTES

log = logging.getLogger("raycast_ai.server")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "raycast_ai_"
# Seconds; the gateway's own share of a first token is about a millisecond.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Label sets per family: error codes may come from Raycast, keys from the rate limiter.
MAX_SERIES = 200
OVERFLOW = "other"
MAX_LABEL = 100
COOLDOWNS_TIMEOUT = 2.0

_CURRENT: ContextVar[tuple[Metrics, float] | None] = ContextVar("raycast_ai_metrics", default=None)
_CLASSES = {n: f"{n}xx" for n in range(1, 6)}


class Histogram:
    """Observations in `BUCKETS` (upper bounds, inclusive), counted per bucket."""

    __slots__ = ("buckets", "count", "counts", "sum")

    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last: above every bound
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1


class Metrics:
    """One gateway app's counts since it was built."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.errors: dict[tuple[str, str, str], int] = {}
        self.refusals: dict[str, int] = {}
        self.upstream_seconds = Histogram()
        self.first_token_seconds = Histogram()
        self.active_streams = 0
        self.bytes_sent = 0
        self.disconnects = 0
        self.started = time.time()

    def request(self, scope: Scope, status: int) -> None:
        route = _route(scope)
        key = (route, _dialect(route), _CLASSES.get(status // 100, "none"))
        self.requests[key] = self.requests.get(key, 0) + 1

    def error(self, info: ErrorInfo, stage: str) -> None:
        key = _bounded(self.errors, (_label(info.type), _label(info.code or "none"), stage))
        self.errors[key] = self.errors.get(key, 0) + 1

    def refused(self, key_id: str) -> None:
        key = _bounded(self.refusals, _label(key_id))
        self.refusals[key] = self.refusals.get(key, 0) + 1

    def render(self, cooling: Mapping[str, float] | None = None) -> str:
        """The exposition text; `cooling`: Raycast accounts in cooldown, and until when."""
        now = time.time()
        lines = [
            *_counter(
                "requests_total",
                "Requests answered, by route, the route's dialect and status class "
                "(none: the client left before any answer).",
                (
                    ({"route": r, "dialect": d, "status": s}, n)
                    for (r, d, s), n in self.requests.items()
                ),
            ),
            *_counter(
                "errors_total",
                "Error answers by type and code; stage=stream: after the 200, in the stream.",
                (({"type": t, "code": c, "stage": s}, n) for (t, c, s), n in self.errors.items()),
            ),
            *_counter(
                "rate_limited_total",
                "Requests the gateway refused with 429 for its own rate limit, by key id.",
                (({"key": k}, n) for k, n in self.refusals.items()),
            ),
            *_counter(
                "client_disconnects_total",
                "Requests whose client left before the answer was complete.",
                [({}, self.disconnects)],
            ),
            *_counter(
                "response_bytes_total",
                "Bytes of response bodies sent to clients.",
                [({}, self.bytes_sent)],
            ),
            *_gauge("active_streams", "Streamed answers in progress.", [({}, self.active_streams)]),
            *_histogram(
                "upstream_latency_seconds",
                "From a request sent to Raycast to Raycast's first event.",
                self.upstream_seconds,
            ),
            *_histogram(
                "time_to_first_token_seconds",
                "From a streamed request's arrival to its first answer event sent to the client.",
                self.first_token_seconds,
            ),
        ]
        if cooling is not None:
            accounts = sorted(cooling.items())
            lines += _gauge(
                "account_cooling",
                "1 for each Raycast account in cooldown after a 429 or a quota error.",
                (({"account": a}, 1) for a, _ in accounts),
            )
            lines += _gauge(
                "account_cooldown_seconds",
                "Seconds until a Raycast account in cooldown may be used again.",
                (({"account": a}, max(until - now, 0.0)) for a, until in accounts),
            )
        lines += _process(self.started)
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Counts every HTTP request by route and status class and the bytes of its response, and
    gives the request's path its app's `Metrics` (see the module functions). Outermost, so it
    sees what the other middleware answer too."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        token = _CURRENT.set((metrics, time.monotonic()))
        status = 0

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.body":
                metrics.bytes_sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                status = message["status"]
                metrics.request(scope, status)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            _CURRENT.reset(token)
            if not status:
                metrics.request(scope, 0)


def error(info: ErrorInfo, *, stream: bool = False) -> None:
    """An error answered: as the response (`stream=False`) or in a stream after its 200."""
    current = _CURRENT.get()
    if current is not None:
        current[0].error(info, "stream" if stream else "response")


def rate_limited(key_id: str) -> None:
    """The gateway refused a request of `key_id` (`security.key_id`) for its rate limit."""
    current = _CURRENT.get()
    if current is not None:
        current[0].refused(key_id)


def upstream_latency(seconds: float) -> None:
    """Raycast's first event arrived `seconds` after the request to it started."""
    current = _CURRENT.get()
    if current is not None:
        current[0].upstream_seconds.observe(seconds)


def first_token() -> None:
    """The request's first answer event has just been sent to its client."""
    current = _CURRENT.get()
    if current is not None:
        metrics, started = current
        metrics.first_token_seconds.observe(time.monotonic() - started)


def stream_opened() -> None:
    current = _CURRENT.get()
    if current is not None:
        current[0].active_streams += 1


def stream_closed() -> None:
    current = _CURRENT.get()
    if current is not None:
        current[0].active_streams -= 1


def disconnected() -> None:
    """The request's client left before its answer was complete."""
    current = _CURRENT.get()
    if current is not None:
        current[0].disconnects += 1


async def scrape(request: Request) -> Response:
    """`GET /metrics`; the cooldowns are read from `app.state.cooldowns` (a `store.Cooldowns`)
    when the app has them, and left out when they cannot be read."""
    state = request.app.state
    metrics: Metrics = state.metrics
    cooldowns = getattr(state, "cooldowns", None)
    cooling: dict[str, float] | None = None
    if cooldowns is not None:
        try:
            cooling = await asyncio.wait_for(cooldowns.cooling(), COOLDOWNS_TIMEOUT)
        except Exception as exc:
            log.warning("/metrics: the accounts' cooldowns could not be read: %s", exc)
    return Response(metrics.render(cooling), media_type=CONTENT_TYPE)


def _route(scope: Scope) -> str:
    """The template of the route that answered (`/v1/models/{model_id:path}`); else of the
    route the path would have reached (a request a middleware refused); else `unmatched`, so
    that the paths clients make up do not become series."""
    route = scope.get("route")
    if route is None:
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            if candidate.matches(scope)[0] is not Match.NONE:
                route = candidate
                break
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


_DIALECTS: dict[str, str] = {}


def _dialect(route: str) -> str:
    name = _DIALECTS.get(route)
    if name is None:
        name = "none"
        for path, dialect in (*CHAT_ROUTES.items(), *OWN_ROUTES.items()):
            if route == path or route.startswith(path + "/"):
                name = dialect.name
        _DIALECTS[route] = name
    return name


def _bounded(family: Mapping[Any, int], key: Any) -> Any:
    """`key`, unless the family already has `MAX_SERIES` others: then the overflow series."""
    if key in family or len(family) < MAX_SERIES:
        return key
    return tuple(OVERFLOW for _ in key) if isinstance(key, tuple) else OVERFLOW


def _label(value: str) -> str:
    return value if len(value) <= MAX_LABEL else value[:MAX_LABEL] + "..."


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value == float("inf"):
        return "+Inf"
    return repr(value)


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    if not labels:
        return f"{PREFIX}{name} {_number(value)}"
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{PREFIX}{name}{{{inner}}} {_number(value)}"


def _head(name: str, kind: str, text: str, prefix: str = PREFIX) -> list[str]:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return [f"# HELP {prefix}{name} {text}", f"# TYPE {prefix}{name} {kind}"]


def _counter(name: str, text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> list[str]:
    return [*_head(name, "counter", text), *(_sample(name, ls, v) for ls, v in samples)]


def _gauge(name: str, text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> list[str]:
    return [*_head(name, "gauge", text), *(_sample(name, ls, v) for ls, v in samples)]


def _histogram(name: str, text: str, histogram: Histogram) -> list[str]:
    lines = _head(name, "histogram", text)
    total = 0
    for bound, count in zip((*histogram.buckets, float("inf")), histogram.counts, strict=True):
        total += count
        lines.append(_sample(name + "_bucket", {"le": _number(float(bound))}, total))
    lines.append(_sample(name + "_sum", {}, histogram.sum))
    lines.append(_sample(name + "_count", {}, histogram.count))
    return lines


def _process(started: float) -> list[str]:
    """The process's standard series (`process_*`, as Prometheus' own clients name them), read
    from /proc where there is one (else only CPU time and when the app was built)."""
    cpu = os.times()
    lines = [
        *_head("process_cpu_seconds_total", "counter", "User and system CPU time.", ""),
        f"process_cpu_seconds_total {cpu.user + cpu.system!r}",
    ]
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        fds = len(os.listdir("/proc/self/fd"))
        started = _started()
        limit = _fd_limit()
    except (OSError, ValueError, IndexError):  # no /proc (macOS, Windows)
        limit = None
    else:
        lines += [
            *_head("process_resident_memory_bytes", "gauge", "Resident memory size.", ""),
            f"process_resident_memory_bytes {pages * os.sysconf('SC_PAGE_SIZE')}",
            *_head("process_open_fds", "gauge", "Open file descriptors.", ""),
            f"process_open_fds {fds}",
        ]
    if limit is not None:
        lines += [
            *_head("process_max_fds", "gauge", "The open file descriptor limit.", ""),
            f"process_max_fds {limit}",
        ]
    return [
        *lines,
        *_head("process_start_time_seconds", "gauge", "When the process started.", ""),
        f"process_start_time_seconds {started!r}",
    ]


def _started() -> float:
    """The process's start, in seconds since the epoch: its start in clock ticks after boot
    (/proc/self/stat, field 22) plus the boot time (/proc/stat)."""
    with open("/proc/self/stat", "rb") as stat:
        ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])
    with open("/proc/stat", "rb") as system:
        boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _fd_limit() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
