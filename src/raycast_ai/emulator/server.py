"""Running the emulator: `EmulatorServer`, a uvicorn server in a background thread for tests and
benchmarks, and `run()`, the blocking server behind `python -m raycast_ai.emulator`.

Both listen on loopback only unless `allow_remote=True`: the emulator accepts a published token
and secret, so on a shared network it would be an open AI endpoint in name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import EmulatorConfig
from .delivery import Closing
from .recorder import Recorder
from .script import Script

DEFAULT_PORT = 8787
GRACEFUL_SHUTDOWN_SECONDS = 2


class RemoteHostError(ValueError):
    """The emulator was asked to listen on an address other hosts can reach."""


def check_host(host: str, *, allow_remote: bool = False) -> None:
    if allow_remote or is_loopback(host):
        return
    raise RemoteHostError(
        f"Refusing to listen on {host!r}: the emulator accepts a published test token and "
        "secret, so it listens on loopback only (127.0.0.1, ::1 or localhost). Pass "
        "allow_remote=True (--allow-remote on the command line) to listen there anyway."
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A bound, not yet listening, TCP socket; port 0 picks a free port."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def banner(base_url: str, config: EmulatorConfig) -> str:
    signing = "required" if config.require_signature else "not checked"
    return "\n".join(
        [
            f"Raycast backend emulator listening on {base_url}",
            f"  token           {config.token}",
            f"  signing secret  {config.secret}   (v2 signature {signing})",
            "Use it with:",
            f"  export RAYCAST_BASE_URL={base_url}",
            f"  export RAYCAST_TOKEN={config.token}",
            f"  export RAYCAST_SIGNING_SECRET={config.secret}",
            "Press Ctrl+C to stop.",
        ]
    )


class _Server(uvicorn.Server):
    """uvicorn's server, ending every open stream first when it shuts down."""

    def __init__(self, config: uvicorn.Config, closing: Closing) -> None:
        super().__init__(config)
        self.closing = closing

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.closing.close()
        await super().shutdown(sockets)


def _uvicorn_config(app: Starlette, *, quiet: bool) -> uvicorn.Config:
    # ws="none": a websocket stack is not needed and its imports can warn (filterwarnings=error).
    if quiet:
        return uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            ws="none",
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    return uvicorn.Config(
        app, ws="none", lifespan="off", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS
    )


class EmulatorServer:
    """The emulator on a real loopback socket, served from a background thread.

    with EmulatorServer() as server:
        httpx2.get(server.base_url + MODELS_PATH)

    `script` (a `Script`) replaces the config's: scripted tool calls and answers.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        app: Starlette | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        startup_timeout: float = 10.0,
        script: Script | None = None,
    ) -> None:
        check_host(host, allow_remote=allow_remote)
        if app is not None and (config is not None or script is not None):
            raise ValueError("Pass either an app or a config to EmulatorServer, not both.")
        if script is not None:
            config = dataclasses.replace(config or EmulatorConfig(), script=script)
        self.app = app if app is not None else create_app(config)
        self.config: EmulatorConfig = self.app.state.config
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""
        self.port = 0

    @property
    def recorder(self) -> Recorder:
        recorder: Recorder = self.app.state.recorder
        return recorder

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("This EmulatorServer is already running.")
        closing: Closing = self.app.state.closing
        closing.open()
        sock = bind(self.host, self._requested_port)
        server = _Server(_uvicorn_config(self.app, quiet=True), closing)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="raycast-ai-emulator", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        self.base_url = base_url_of(sock)
        self.port = sock.getsockname()[1]
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The emulator did not start on {self.base_url}.")
            time.sleep(0.005)

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(GRACEFUL_SHUTDOWN_SECONDS + 5)
            if thread.is_alive():
                server.force_exit = True
                thread.join(5)
        if sock is not None:
            sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    config: EmulatorConfig | None = None,
    *,
    allow_remote: bool = False,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serves the emulator until Ctrl+C or SIGTERM, then returns; `announce` receives the banner
    once the port is bound."""
    check_host(host, allow_remote=allow_remote)
    app = create_app(config)
    sock = bind(host, port)
    server = _Server(_uvicorn_config(app, quiet=False), app.state.closing)
    try:
        if announce is not None:
            announce(banner(base_url_of(sock), app.state.config))
        # uvicorn shuts down cleanly, then re-raises the signal it caught: Ctrl+C is the way out.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()
