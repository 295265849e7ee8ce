"""The OpenAI-compatible gateway (`raycast-ai serve`): `serve()` runs it, `create_app()` builds it.

Importing this package stays light; Starlette and uvicorn load when the app is built or served.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import gc
import logging
import os
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from raycast_ai.config import load_settings
from raycast_ai.protocol.errors import InvalidRequestError

from .accounts import Account, accounts_path, check_pins, load_accounts
from .settings import GatewaySettings, is_loopback

if TYPE_CHECKING:
    from .app import create_app

log = logging.getLogger("raycast_ai.server")

STARTUP_FAILURE = 3  # uvicorn's exit status when the app does not start

_GATEWAY_FIELDS = frozenset(f.name for f in dataclasses.fields(GatewaySettings)) - {
    "api_keys",
    "client_options",
    "accounts",
}
_SETTINGS_ARGS = ("token", "signing_secret", "device_id", "base_url", "home")


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    api_keys: Iterable[str] = (),
    *,
    log_level: str = "warning",
    sock: socket.socket | None = None,
    accounts: str | os.PathLike[str] | Iterable[Account] | None = None,
    **client_kwargs: Any,
) -> None:
    """Run the gateway until interrupted, on `sock` if given (see `listen`), else on a socket
    bound to `host`:`port`.

    `api_keys` default to the comma separated RAYCAST_AI_API_KEYS. Listening beyond loopback
    without a key is refused: anyone who can reach the port could spend the Raycast token.
    Keyword arguments named like `GatewaySettings` fields (`cors_origins`, `max_body_size`,
    `include_premium`, ...) set those; the rest go to `AsyncRaycastClient` (`token`,
    `base_url`, `timeout`, ...).

    `accounts`: the Raycast accounts to spread requests over, as `Account`s or the path of an
    accounts file (default: RAYCAST_AI_ACCOUNTS, else `accounts.toml` in the data folder when it
    exists; see `server.accounts`); without any, the one account of the client's credentials.
    """
    gateway = {k: client_kwargs.pop(k) for k in list(client_kwargs) if k in _GATEWAY_FIELDS}
    if accounts is None or isinstance(accounts, str | os.PathLike):
        home = client_kwargs.get("home")
        accounts = load_accounts(accounts_path(accounts, home), home)
    settings = GatewaySettings.from_env(
        api_keys, client_options=client_kwargs, accounts=tuple(accounts), **gateway
    )
    check_bind(host, settings)
    check_pins(settings.accounts, settings.api_keys)
    # Served over sockets, `Host` is always checked (DNS rebinding); in-process it cannot be.
    settings = dataclasses.replace(settings, allowed_hosts=settings.allowed_hosts or ())
    upstream = load_settings(**{k: client_kwargs.get(k) for k in _SETTINGS_ARGS})
    if not upstream.token and not settings.accounts:
        log.warning(
            "No Raycast token: chat requests will fail until one is set "
            "('raycast-ai auth set' or RAYCAST_TOKEN)."
        )

    import uvicorn

    from .app import create_app
    from .connections import connection_cap, guarded_protocol

    sock = sock or listen(host, port)
    app = create_app(settings)
    tune_gc()
    limits = dataclasses.replace(
        settings.limits, max_connections=connection_cap(settings.limits.max_connections)
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=sock.getsockname()[1],
        log_level=log_level,
        log_config=_log_config(log_level),
        loop="auto",  # uvloop when installed
        http=guarded_protocol(limits),  # httptools, bounded (see `connections`)
        server_header=False,
        access_log=log_level in ("trace", "debug", "info"),
        backlog=4096,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl+C, then raises it again
        pass
    finally:
        sock.close()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` (port 0: any free one), so that a busy port is found
    before anything is printed, and reported with a free port to use instead."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidRequestError(
                f"Port {port} is in use, try --port {free_port(host, port)}."
            ) from None
        raise InvalidRequestError(f"Cannot listen on {host} port {port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


def free_port(host: str, after: int) -> int:
    """The first free port above `after` (of the next 100), else one the system picks."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in [*range(after + 1, min(after + 101, 65536)), 0]:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host.strip("[]"), port))
            except OSError:
                continue
            free: int = probe.getsockname()[1]
            return free
    raise InvalidRequestError(f"No free port to listen on at {host}.")


def tune_gc() -> None:
    """Garbage collection for a server process: what start-up made is frozen out of every
    collection, and collections run about a fifteenth as often.

    A request allocates a few thousand objects and keeps almost none. With the default
    thresholds, 500 concurrent streams (`bench/gateway.py`) ran about a thousand collections and
    seven full ones over every live object, 70 ms each: 0.78 s of CPU for 2,000 streams, a third
    of the gateway's. Frozen and less often: 0.20 s.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup, with the gateway's own logger on the same console handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    name = "DEBUG" if level.lower() == "trace" else level.upper()
    config["loggers"]["raycast_ai"] = {"handlers": ["default"], "level": name, "propagate": False}
    return config


def check_bind(host: str, settings: GatewaySettings) -> None:
    if not is_loopback(host) and not settings.api_keys:
        raise InvalidRequestError(
            f"Refusing to listen on {host}: beyond this machine, anyone who reaches the port "
            "could spend your Raycast token. Add an API key (--api-key KEY or "
            "RAYCAST_AI_API_KEYS=KEY), or listen on 127.0.0.1."
        )


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Account",
    "GatewaySettings",
    "accounts_path",
    "check_bind",
    "check_pins",
    "create_app",
    "free_port",
    "listen",
    "load_accounts",
    "serve",
    "tune_gc",
]
