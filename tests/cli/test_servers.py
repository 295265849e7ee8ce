"""`raycast-ai demo`, `emulate` and `serve`: the commands that run servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from gateway import free_port
from raycast_ai.emulator import EMULATOR_TOKEN
from raycast_ai.protocol.request import MODELS_PATH

from .conftest import Invoke, Run


def test_demo_answers_through_the_whole_stack_without_touching_home(run: Run, home: Path) -> None:
    done = run("demo", "--delay", "0", "-p", "Is it working?")
    assert done.code == 0, done.stderr
    out = done.stdout
    assert "emulator   http://127.0.0.1:" in out
    assert "model      GPT-4o mini (openai-gpt-4o-mini)" in out
    assert "> Is it working?" in out
    assert "data:" in out  # the emulator's answer
    assert "usage      " in out
    assert "finish: stop" in out
    assert "signature" in out
    assert ": completed" in out
    assert "\x1b[" not in out  # no colours in a pipe
    assert not home.exists()


def test_emulate_refuses_a_public_address(invoke: Invoke) -> None:
    result = invoke("emulate", "--host", "0.0.0.0")
    assert result.exit_code == 3
    assert "loopback" in result.stderr


def test_serve_refuses_a_public_address_without_keys(invoke: Invoke) -> None:
    result = invoke("serve", "--host", "0.0.0.0", "--port", "9")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1].startswith("Error: Refusing to listen on 0.0.0.0")


def _wait_for(url: str, headers: dict[str, str] | None = None, seconds: float = 15.0) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx2.get(url, headers=headers, timeout=1.0).status_code
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.parametrize("command", ["emulate", "serve"])
def test_the_servers_listen_until_interrupted(
    command: str, env: dict[str, str], home: Path
) -> None:
    port = free_port()
    environ = {**os.environ, **env}
    child = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", command, "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if command == "emulate":
            status = _wait_for(f"http://127.0.0.1:{port}{MODELS_PATH}")
        else:
            status = _wait_for(
                f"http://127.0.0.1:{port}/v1/models",
                {"Authorization": f"Bearer {EMULATOR_TOKEN}"},
            )
        assert status == 200
    finally:
        child.send_signal(signal.SIGINT)  # Ctrl+C
        out, err = child.communicate(timeout=15)
    assert child.returncode == 0, err
    if command == "emulate":
        assert f"listening on http://127.0.0.1:{port}" in out
    else:
        assert f"http://127.0.0.1:{port}/v1" in err
