"""Pure ASGI middleware guarding the gateway: request ids, CORS, API keys and a body size limit."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import random
import re
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from raycast_ai.dialects.errors import NO_RETRY, ErrorInfo

from . import metrics
from .routes import dialect_for

log = logging.getLogger("raycast_ai.server")

# What probes ask for (Claude Code HEADs these) says nothing and spends nothing.
OPEN_PATHS = frozenset({"/health", "/", "/api/hello"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_ALLOW_METHODS = b"GET, POST, OPTIONS"
_EXPOSE_HEADERS = b"x-request-id, x-raycast-rerouted, retry-after, retry-after-ms"
HOSTS_SEEN = 64


async def send_error(
    scope: Scope, send: Send, info: ErrorInfo, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """The error in the shape of the dialect the request's path speaks."""
    metrics.error(info)
    dialect = dialect_for(scope["path"])
    body = dialect.error_json(info)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in info.headers.items()),
        *extra,
    ]
    status = dialect.error_status(info)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestIdMiddleware:
    """Echoes a well-formed `x-request-id` or makes one; every response carries it, also as
    `request-id`, the header the anthropic SDK reads.

    Also the last line of defence: an unexpected exception becomes a 500 in OpenAI's error shape
    (when nothing was sent yet) instead of a bare text body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = (
            given.decode("latin-1")
            if given is not None and _REQUEST_ID.match(given.decode("latin-1"))
            else f"req_{random.getrandbits(96):024x}"  # unique, not secret; fork-safe
        )
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode()
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                ids = [(b"x-request-id", raw_id), (b"request-id", raw_id)]
                message["headers"] = [*message.get("headers", ()), *ids]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            if not started:
                await send_error(
                    scope,
                    send_with_id,
                    ErrorInfo(500, "The gateway failed unexpectedly.", "server_error", None),
                )
            raise


class HostMiddleware:
    """Answers only requests whose `Host` is an IP address, `localhost` or a configured name.

    A web page can point its own host name at 127.0.0.1 (DNS rebinding); the browser then sends
    that name as `Host`, and without `Origin` on a GET. Refused with 421: the name is not served
    here. IP addresses cannot be rebound, and clients that send no `Host` are not browsers.
    """

    def __init__(self, app: ASGIApp, *, names: Iterable[str] = ()) -> None:
        self.app = app
        self.names = frozenset(n.lower() for n in names) | {"localhost"}
        self.any_name = "*" in self.names
        self.suffixes = tuple(n[1:] for n in self.names if n.startswith("*."))
        self.seen: dict[str, bool] = {}

    def allowed(self, host: str) -> bool:
        """Remembered for the first `HOSTS_SEEN` values: a client sends the same few."""
        known = self.seen.get(host)
        if known is None:
            known = self._allowed(host)
            if len(self.seen) < HOSTS_SEEN:
                self.seen[host] = known
        return known

    def _allowed(self, host: str) -> bool:
        name = _hostname(host)
        if self.any_name or name in self.names or name.endswith(self.suffixes or ("\0",)):
            return True
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = _header(scope, b"host") if scope["type"] == "http" else None
        if raw is None or self.allowed(raw.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        shown = _echo(raw.decode("latin-1"))
        log.warning("refused Host %s from %s", shown, _client(scope))
        message = (
            f"This gateway does not answer for host '{shown}'. If you reach it by that name, "
            f"start it with --allowed-host {_hostname(shown) or 'NAME'}."
        )
        await send_error(
            scope,
            send,
            ErrorInfo(421, message, "invalid_request_error", "host_not_allowed", None, NO_RETRY),
            [(b"connection", b"close")],
        )


def _hostname(host: str) -> str:
    """`host` without its port, lower case: `[::1]:8080` -> `[::1]`, `a.b:80` -> `a.b`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _echo(text: str, limit: int = 100) -> str:
    """Client text as echoed back: printable and bounded."""
    cleaned = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "a client"


class CORSMiddleware:
    """An explicit origin allow-list; no credentials are ever allowed, so no cookies ride along.

    A request from an origin outside the list, preflight or not, gets a 403 without any allow
    headers. Browsers send some requests without a preflight (a POST of text/plain, say): were
    those answered, any web page could spend the Raycast token, and read the answer too after
    pointing its own host name at 127.0.0.1 (DNS rebinding). Clients that are not browsers send
    no Origin and pass.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        origins: Iterable[str] = (),
        origin_regex: str | None = None,
    ) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.any_origin = "*" in self.origins
        self.origin_regex = re.compile(origin_regex) if origin_regex else None

    def allowed(self, origin: str) -> bool:
        if self.any_origin or origin in self.origins:
            return True
        return bool(self.origin_regex and self.origin_regex.fullmatch(origin))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_origin = _header(scope, b"origin")
        if raw_origin is None:
            await self.app(scope, receive, send)
            return
        origin = raw_origin.decode("latin-1")
        allowed = self.allowed(origin)
        allow_origin = b"*" if self.any_origin else raw_origin
        if not allowed:
            await send_error(
                scope,
                send,
                ErrorInfo(403, "This origin is not allowed.", "permission_error", "cors_origin"),
                [(b"vary", b"Origin")],
            )
            return
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await self._preflight(scope, send, allow_origin)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"access-control-allow-origin", allow_origin),
                    (b"access-control-expose-headers", _EXPOSE_HEADERS),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, send: Send, origin: bytes) -> None:
        requested = _header(scope, b"access-control-request-headers") or b""
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", _ALLOW_METHODS),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        if requested:
            headers.append((b"access-control-allow-headers", requested))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


# Where the request's gateway key is named for the routes (rate limits, usage, pinned accounts):
# by `key_id`, never the key itself; `ANONYMOUS` when the gateway has no keys.
KEY_SCOPE = "raycast_ai.key"
ANONYMOUS = "anonymous"


def key_id(digest: bytes) -> str:
    """A gateway key's name where it is counted or shown: a prefix of its SHA-256, which tells
    keys apart without revealing them (`raycast-ai serve` prints the id of each key)."""
    return "key-" + digest.hex()[:12]


def request_key(scope: Scope) -> str:
    """The id of the key this request came with, or `ANONYMOUS`."""
    return str(scope.get(KEY_SCOPE, ANONYMOUS))


class APIKeyMiddleware:
    """With keys configured, every path but /health (and OPTIONS) needs one of them.

    Keys come as `Authorization: Bearer <key>` or `x-api-key: <key>`; only SHA-256 digests are
    kept, compared in constant time against every configured digest.
    """

    def __init__(self, app: ASGIApp, *, keys: Iterable[str] = ()) -> None:
        self.app = app
        self.digests = tuple(hash_key(k) for k in keys)

    def check(self, scope: Scope) -> str | None:
        """Why the request's key is refused, or None (and its id is in `scope[KEY_SCOPE]`)."""
        presented = _header(scope, b"x-api-key")
        auth = _header(scope, b"authorization")
        if auth is not None and auth[:7].lower() == b"bearer ":
            presented = auth[7:].strip()
        if not presented:
            return "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
        digest = hashlib.sha256(presented).digest()
        ok = False
        for known in self.digests:
            ok |= hmac.compare_digest(digest, known)
        if not ok:
            return "Incorrect API key."
        scope[KEY_SCOPE] = key_id(digest)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.digests
            or scope["method"] == "OPTIONS"
            or scope["path"] in OPEN_PATHS
        ):
            await self.app(scope, receive, send)
            return
        problem = self.check(scope)
        if problem is not None:
            await send_error(
                scope,
                send,
                ErrorInfo(401, problem, "invalid_request_error", "invalid_api_key", None, NO_RETRY),
                [(b"www-authenticate", b"Bearer")],
            )
            return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Reads a request body up to `max_size` bytes before the app sees it; beyond that, 413.

    The whole body is handed to the app in one message, then `receive` passes through, so the
    app can still listen for the client going away.
    """

    def __init__(self, app: ASGIApp, *, max_size: int) -> None:
        self.app = app
        self.max_size = max_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_size:
            await self._too_large(scope, send)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending the whole body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_size:
                await self._too_large(scope, send)
                return
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        first: dict[str, Any] | None = {
            "type": "http.request",
            "body": b"".join(parts),
            "more_body": False,
        }

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                message, first = first, None
                return message
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await send_error(
            scope,
            send,
            ErrorInfo(
                413,
                f"The request body is larger than {self.max_size} bytes.",
                "invalid_request_error",
                "request_too_large",
            ),
            [(b"connection", b"close")],
        )
