"""EmulatorServer's lifecycle, the loopback-only rule, and `python -m raycast_ai.emulator`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import httpx2
import pytest

from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.__main__ import main
from raycast_ai.emulator.app import EmulatorConfig, create_app
from raycast_ai.emulator.server import (
    EmulatorServer,
    RemoteHostError,
    banner,
    check_host,
    is_loopback,
    run,
)
from raycast_ai.protocol.request import CHAT_PATH, MODELS_PATH

from .support import signed


def test_serves_on_a_free_loopback_port_and_cleans_up() -> None:
    threads = set(threading.enumerate())
    with EmulatorServer() as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        assert httpx2.get(server.base_url + MODELS_PATH).status_code == 200
        assert server.recorder is server.app.state.recorder
        assert server.config == EmulatorConfig()
    assert set(threading.enumerate()) == threads
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(server.base_url + MODELS_PATH)


def test_two_servers_side_by_side_sharing_nothing() -> None:
    with EmulatorServer() as one, EmulatorServer() as two:
        assert one.port != two.port
        httpx2.get(one.base_url + MODELS_PATH)
        assert len(one.recorder) == 1
        assert len(two.recorder) == 0


def test_an_app_can_be_served_again() -> None:
    app = create_app(EmulatorConfig(chunks=1))
    for _ in range(2):
        with EmulatorServer(app=app) as server:
            request, headers = signed("again")
            url = server.base_url + CHAT_PATH
            assert httpx2.post(url, content=request.body, headers=headers).status_code == 200
    assert len(app.state.recorder) == 2


def test_shutdown_ends_open_streams_at_once() -> None:
    errors: list[Exception] = []

    def stalled(url: str) -> None:
        request, headers = signed("hang @fault:stall @stall:30")
        try:
            with httpx2.stream("POST", url, content=request.body, headers=headers) as response:
                for _ in response.iter_bytes():
                    pass
        except httpx2.HTTPError as exc:
            errors.append(exc)

    with EmulatorServer() as server:
        reader = threading.Thread(target=stalled, args=(server.base_url + CHAT_PATH,))
        reader.start()
        server.recorder.wait_for(lambda rs: bool(rs) and rs[-1].status == 200)
        started = time.monotonic()
    assert time.monotonic() - started < 1.5
    reader.join(5)
    assert [type(e) for e in errors] == [httpx2.RemoteProtocolError]
    assert server.recorder.wait_for_outcome("shutdown")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    check_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_other_hosts_are_refused_unless_allowed(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(RemoteHostError, match="allow_remote=True"):
        EmulatorServer(host=host)
    with pytest.raises(RemoteHostError, match="--allow-remote"):
        run(host, 0)
    check_host(host, allow_remote=True)


def test_remote_listening_when_allowed() -> None:
    with EmulatorServer(host="0.0.0.0", allow_remote=True) as server:
        assert server.base_url == f"http://0.0.0.0:{server.port}"
        url = f"http://127.0.0.1:{server.port}{MODELS_PATH}"
        assert httpx2.get(url).status_code == 200


def test_banner_tells_how_to_connect() -> None:
    text = banner("http://127.0.0.1:8787", EmulatorConfig())
    assert "http://127.0.0.1:8787" in text
    assert f"RAYCAST_TOKEN={EMULATOR_TOKEN}" in text
    assert f"RAYCAST_SIGNING_SECRET={EMULATOR_SECRET}" in text


def test_cli_refuses_a_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_cli_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_cli_serves_until_ctrl_c() -> None:
    code = "from raycast_ai.emulator.__main__ import main; main(['--port', '0'])"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        base_url = first.rsplit(" ", 1)[-1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        rest = [process.stdout.readline() for _ in range(2)]
        assert EMULATOR_TOKEN in rest[0]
        assert EMULATOR_SECRET in rest[1]
        assert httpx2.get(base_url + MODELS_PATH).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in errors
