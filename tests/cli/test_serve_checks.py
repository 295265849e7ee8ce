"""`raycast-ai serve` checks before it prints anything (an address beyond loopback without a key,
a busy port), and its `/ready` says why it is not ready when no token is configured."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx2

from gateway import free_port

from .conftest import Run


def test_serve_refuses_before_its_banner(run: Run) -> None:
    done = run("serve", "--host", "0.0.0.0", "--port", "9")
    assert done.code == 3
    assert done.stderr.startswith("Error: Refusing to listen on 0.0.0.0")
    assert "gateway on" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_serve_on_a_busy_port_names_a_free_one(run: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--port", str(port))
    assert done.code == 3
    [line] = done.stderr.splitlines()
    assert line.startswith(f"Error: Port {port} is in use, try --port ")
    suggested = int(line.removeprefix(f"Error: Port {port} is in use, try --port ").rstrip("."))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))  # it is free


def _status(url: str, seconds: float = 15.0) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx2.get(url, timeout=1.0).status_code
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_ready_is_false_without_a_token(env: dict[str, str]) -> None:
    port = free_port()
    environ = {k: v for k, v in {**os.environ, **env}.items() if k != "RAYCAST_TOKEN"}
    child = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _status(f"http://127.0.0.1:{port}/health") == 200
        ready = httpx2.get(f"http://127.0.0.1:{port}/ready", timeout=5)
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=15)
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False
    assert "No Raycast token" in body["reason"] and "RAYCAST_TOKEN" in body["reason"]
