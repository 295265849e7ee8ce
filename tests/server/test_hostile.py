"""Hostile clients against the gateway as `serve()` runs it, in its own process over loopback.

Raw sockets where an SDK cannot express the attack: a huge or trickling head, a stalled body,
idle connections by the hundred, a client that stops reading, a rebound `Host`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from gateway import EMULATOR_CODE, free_port, wait_http
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN

MODEL = "openai-gpt-4o-mini"
CHILD = """
import json, sys
from raycast_ai.server import serve
options = json.loads(sys.argv[2])
if "limits" in options:
    from raycast_ai.server.settings import ConnectionLimits
    options["limits"] = ConnectionLimits(**options["limits"])
serve(port=int(sys.argv[1]), **options)
"""
FAST = {"head_timeout": 1.0, "body_timeout": 1.0, "write_timeout": 2.0}


@dataclass
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """An emulator of this module's own, in its own process: the long answers streamed here
    would otherwise take the test process's CPU from the session's emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAYCAST")}
    child = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    base_url = child.stdout.readline().strip()
    yield base_url
    child.stdin.close()
    child.stdout.close()
    child.wait(10)


def _start(emulator: str, home: Path, nofile: int | None = None, **options: Any) -> Served:
    port = free_port()
    options = {
        "base_url": emulator,
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "home": str(home),
        **options,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAYCAST")}
    log = home.parent / f"gateway-{port}.log"

    def limit_descriptors() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(port), json.dumps(options)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_descriptors,
        )
    wait_http(port)
    return Served(port, process, log)


def _stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def served(emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    gateway = _start(emulator, home, limits=FAST, allowed_hosts=["gw.example"])
    yield gateway
    _stop(gateway)


@pytest.fixture
def start(emulator: str, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def run(**options: Any) -> Served:
        started.append(_start(emulator, tmp_path / f"home{len(started)}", **options))
        return started[-1]

    yield run
    for gateway in started:
        _stop(gateway)


def _answer(sock: socket.socket, seconds: float = 5.0) -> bytes:
    """Everything the gateway sends until it closes the connection (or `seconds` pass); then
    closes the socket."""
    sock.settimeout(seconds)
    parts = []
    deadline = time.monotonic() + seconds
    with sock:
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                parts.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(parts)


def _error(answer: bytes) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), answer[:300]
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) >= {"message", "type", "code"}
    return error


def _health(served: Served) -> int:
    return httpx2.get(f"{served.url}/health", timeout=3).status_code


# 1. The head


def test_a_huge_header_is_refused_with_431_without_reading_it(served: Served) -> None:
    sock = served.connect()
    sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: ")
    started = time.monotonic()
    sent = 0
    try:
        while sent < 128 * 1024 * 1024:
            sock.sendall(b"a" * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert sent < 8 * 1024 * 1024, "the gateway kept reading the header"
    answer = _answer(sock)
    assert time.monotonic() - started < 3
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert "64 KiB" in _error(answer)["message"]
    assert _health(served) == 200


def test_a_large_but_allowed_head_is_answered(served: Served) -> None:
    big = {"x-padding": "p" * 40_000}
    response = httpx2.get(f"{served.url}/health", headers=big, timeout=5)
    assert response.status_code == 200


# 2. Incomplete requests and idle connections


def test_a_head_that_trickles_in_is_refused_with_408(served: Served) -> None:
    sock = served.connect()
    started = time.monotonic()
    for byte in b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ":
        try:
            sock.send(bytes([byte]))
        except OSError:
            break
        time.sleep(0.05)
        if time.monotonic() - started > 3:
            break
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert time.monotonic() - started < 4
    assert _error(answer)["code"] == "timeout"


def test_a_body_that_stops_arriving_is_refused_with_408(served: Served) -> None:
    sock = served.connect()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":'
    )
    started = time.monotonic()
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert 0.9 < time.monotonic() - started < 3
    assert "body" in _error(answer)["message"]


def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    sock = served.connect()
    started = time.monotonic()
    assert _answer(sock) == b""  # closed without a word
    assert time.monotonic() - started < 3


def test_idle_connections_cannot_lock_out_new_clients(
    start: Callable[..., Served],
) -> None:
    """With 256 descriptors, 300 idle connections left nothing for anyone else: `/health` and
    real clients hung. Now the oldest idle one makes room."""
    gateway = start(nofile=256)
    idle = [gateway.connect() for _ in range(300)]
    try:
        started = time.monotonic()
        assert _health(gateway) == 200
        models = httpx2.get(f"{gateway.url}/v1/models", timeout=3)
        assert models.status_code == 200
        assert time.monotonic() - started < 3
    finally:
        for sock in idle:
            sock.close()


# 3. Slow readers


def _stream_request(words: str, chunks: int) -> bytes:
    body = json.dumps(
        {
            "model": MODEL,
            "stream": True,
            "messages": [{"role": "user", "content": f"{words} @chunks:{chunks}"}],
        }
    ).encode()
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )


def test_a_client_that_stops_reading_is_dropped(served: Served) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", served.port))
    sock.sendall(_stream_request("Tell me everything.", 50_000))
    time.sleep(4.0)  # twice the write timeout, reading nothing
    answer = _answer(sock, 10)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"data: [DONE]" not in answer  # cut off, not waited for
    assert any("read nothing for 2 s" in line for line in served.lines())


@pytest.mark.slow
def test_fifty_slow_readers_stay_within_the_stated_memory(
    start: Callable[..., Served],
) -> None:
    """SECURITY.md: a slow reader holds about 1.3 MB (a 512 KiB socket send buffer, the
    upstream's 256 KiB read buffer and its events, one encoded slice): 50 stay under 100 MB above
    rest (684 MB before, and growing for as long as the upstream kept sending)."""
    import psutil

    gateway = start()
    process = psutil.Process(gateway.process.pid)
    at_rest = process.memory_info().rss
    readers = []
    for _ in range(50):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        sock.connect(("127.0.0.1", gateway.port))
        sock.sendall(_stream_request("Tell me everything about rivers.", 100_000))
        sock.setblocking(False)
        readers.append(sock)
    peak = at_rest
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        for sock in readers:
            with contextlib.suppress(BlockingIOError):
                sock.recv(1024)  # a trickle: far slower than the upstream
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.1)
    for sock in readers:
        sock.close()
    assert peak - at_rest < 100 * 1024 * 1024, f"{(peak - at_rest) / 1e6:.0f} MB"


# 5. Host


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "gw.example", "[::1]"])
def test_an_address_localhost_and_configured_names_are_answered(served: Served, host: str) -> None:
    response = httpx2.get(
        f"{served.url}/v1/models", headers={"host": f"{host}:{served.port}"}, timeout=5
    )
    assert response.status_code == 200


def test_a_rebound_host_name_is_refused_with_421(served: Served) -> None:
    response = httpx2.get(
        f"{served.url}/ready", headers={"host": f"attacker.example:{served.port}"}, timeout=5
    )
    assert response.status_code == 421
    error = response.json()["error"]
    assert error["code"] == "host_not_allowed"
    assert "--allowed-host attacker.example" in error["message"]


# 6. The smaller ones


def test_malformed_http_is_a_400_in_openais_shape(served: Served) -> None:
    sock = served.connect()
    sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n")
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert _error(answer)["type"] == "invalid_request_error"


def test_one_log_line_per_refused_client(served: Served) -> None:
    before = len(served.lines())
    for _ in range(3):
        sock = served.connect()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n")
        _answer(sock)
    new = served.lines()[before:]
    assert len(new) == 3, new
    assert all("431" in line for line in new)


BODIES = {
    "/v1/chat/completions": {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/completions": {"model": MODEL, "prompt": "hi"},
    "/v1/messages": {
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "/v1/responses": {"model": MODEL, "input": "hi"},
}


@pytest.mark.parametrize("path", sorted(BODIES))
@pytest.mark.parametrize("value", ["yes", "true", 1])
def test_booleans_are_strict_in_every_dialect(served: Served, path: str, value: object) -> None:
    response = httpx2.post(f"{served.url}{path}", json={**BODIES[path], "stream": value})
    assert response.status_code == 400, response.text
    assert "stream" in response.text


def test_json_nested_too_deep_says_so(served: Served) -> None:
    deep = b'{"model":"m","messages":[],"x":' + b"[" * 300 + b"]" * 300 + b"}"
    response = httpx2.post(
        f"{served.url}/v1/chat/completions",
        content=deep,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "json_too_deep"
    assert "nested too deep" in error["message"]


def test_a_huge_model_name_is_not_echoed_whole(served: Served) -> None:
    name = "m" * 1_000_000
    started = time.monotonic()
    response = httpx2.post(
        f"{served.url}/v1/chat/completions",
        json={**BODIES["/v1/chat/completions"], "model": name},
        timeout=10,
    )
    assert response.status_code == 404
    assert len(response.content) < 2000
    assert "m" * 200 + "..." in response.json()["error"]["message"]
    assert time.monotonic() - started < 2
