"""The gateway's own settings: API keys, CORS, limits, catalog filters, upstream client options."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from raycast_ai.protocol.files import MAX_ATTACHMENT_BYTES
from raycast_ai.store.base import RateLimit

from .accounts import Account

API_KEYS_ENV = "RAYCAST_AI_API_KEYS"
STORE_ENV = "RAYCAST_AI_STORE"
# A file travels as base64, 4 characters per 3 bytes: a 20 MiB attachment makes a body of about
# 27 MiB, so the body limit stays above 4/3 of the attachment limit (`body_size_for`).
DEFAULT_MAX_BODY_SIZE = 32 * 1024 * 1024
DEFAULT_RESPONSE_STORE_TTL = 30 * 24 * 3600.0
DEFAULT_RESPONSE_STORE_MAX_BYTES = 256 * 1024 * 1024
# Local pages only, on any port: a web page elsewhere must not spend the user's Raycast token.
LOOPBACK_ORIGIN_REGEX = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """`max_head_bytes`: the request line and headers together (431 beyond). `head_timeout`:
    seconds from a connection's (or the previous response's) end to a complete head (408, or a
    silent close when nothing came). `body_timeout`: seconds a body may pause (408).
    `write_timeout`: seconds a client may leave the gateway's write buffer full before the
    connection is dropped. `max_connections`: open client connections; at the cap, the oldest
    connection without a request in progress is closed for a new one, and without one the new
    connection gets a 503; None: as many as the descriptor limit allows (`connection_cap`)."""

    max_head_bytes: int = 64 * 1024
    head_timeout: float = 10.0
    body_timeout: float = 10.0
    write_timeout: float = 30.0
    max_connections: int | None = None


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """What `create_app` needs; `client_options` go to `AsyncRaycastClient` as keyword arguments.

    `cors_origins=None` allows http(s)://localhost, 127.0.0.1 and [::1] on any port; a tuple
    replaces that default with exact origins ("*" allows any origin, never with credentials).
    `include_premium` / `include_deprecated` filter `GET /v1/models` only; chat accepts any
    model of the catalog. `max_connections` (concurrent requests) and `max_keepalive_connections`
    shape the connections to Raycast (see `upstream.Http1Transport`); they apply unless
    `client_options` bring their own `transport` or `proxy`. Stored responses (`POST
    /v1/responses` without `store: false`) are kept `response_store_ttl` seconds, the oldest
    going first past `response_store_max_bytes` of JSON. An attached file may be at most
    `max_attachment_bytes`; a file named by an http(s) URL is fetched only from
    `attachment_hosts` (`example.com`, `example.com:8443`, `*.example.com`), and refused
    otherwise (see `server.attachments`). `allowed_hosts`: the `Host` names answered besides
    IP addresses and `localhost` (`"*"`: any); None, as in-process, checks none, and `serve()`
    always checks. `limits` bound what one client connection may hold (`serve()` only).
    `accounts`: the Raycast accounts requests are spread over (`server.accounts`, `server.pool`);
    none: the one of `client_options`. `cool_accounts` False sends every request on, whatever
    429 or quota error Raycast gave the account before (for benchmarks whose emulated faults are
    drawn per request, not per account).

    `store_url` (`redis://HOST:PORT/DB`) puts what replicas share (stored responses, rate
    limits, usage, account cooldowns) on that Redis; None keeps them in this process and the
    data folder (`store.shared`). `rate_limit`: requests per window for each gateway key on
    every chat route; `rate_limit_fail` ("open" or "closed") whether requests go through while
    the store cannot count them (`server.metering`).
    """

    api_keys: tuple[str, ...] = field(default=(), repr=False)
    cors_origins: tuple[str, ...] | None = None
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    include_premium: bool = True
    include_deprecated: bool = False
    max_connections: int | None = None
    max_keepalive_connections: int = 512
    client_options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    response_store_ttl: float = DEFAULT_RESPONSE_STORE_TTL
    response_store_max_bytes: int = DEFAULT_RESPONSE_STORE_MAX_BYTES
    attachment_hosts: tuple[str, ...] = ()
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
    allowed_hosts: tuple[str, ...] | None = None
    limits: ConnectionLimits = ConnectionLimits()
    accounts: tuple[Account, ...] = field(default=(), repr=False)
    cool_accounts: bool = True
    store_url: str | None = None
    rate_limit: RateLimit | None = None
    rate_limit_fail: str = "open"

    def __post_init__(self) -> None:
        if self.rate_limit_fail not in ("open", "closed"):
            raise ValueError(f"rate_limit_fail is 'open' or 'closed', not {self.rate_limit_fail!r}")

    @classmethod
    def from_env(cls, api_keys: Iterable[str] = (), **changes: Any) -> GatewaySettings:
        """Settings with explicit `api_keys`, else the comma separated RAYCAST_AI_API_KEYS; the
        store of RAYCAST_AI_STORE unless `store_url` is given; a larger `max_attachment_bytes`
        raises the default body limit with it."""
        keys = tuple(k for k in api_keys if k) or parse_keys(os.environ.get(API_KEYS_ENV, ""))
        if "store_url" not in changes:
            changes["store_url"] = os.environ.get(STORE_ENV) or None
        limit = changes.get("max_attachment_bytes")
        if limit is not None and "max_body_size" not in changes:
            changes["max_body_size"] = max(DEFAULT_MAX_BODY_SIZE, body_size_for(limit))
        return replace(cls(), api_keys=keys, **changes)


def body_size_for(attachment_bytes: int) -> int:
    """The smallest body limit that admits one file of `attachment_bytes` as base64, with 1 MiB
    for the rest of the request."""
    return -(-attachment_bytes * 4 // 3) + 1024 * 1024


def parse_keys(value: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in value.split(",") if k.strip())


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
