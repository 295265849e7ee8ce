"""`raycast-ai demo`, `emulate` and `serve`: the commands that run servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def test_serve_answers_an_agents_model_name_through_an_alias(
    env: dict[str, str], home: Path
) -> None:
    port = free_port()
    alias = "claude-sonnet-4-5-20250929=openai-gpt-4o"
    child = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", "serve", "--port", str(port), "--alias", alias],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        assert _wait_for(f"{base}/models") == 200
        model = httpx2.get(f"{base}/models/claude-sonnet-4-5-20250929").json()
        assert model["id"] == "openai-gpt-4o"
        body = {
            "model": "claude-sonnet-4-5-20250929",
            "messages": [{"role": "user", "content": "hi"}],
        }
        answer = httpx2.post(f"{base}/chat/completions", json=body, timeout=10).json()
        assert answer["model"] == "openai-gpt-4o"
        unknown = httpx2.post(
            f"{base}/chat/completions", json={**body, "model": "gpt-5-codex"}, timeout=10
        )
        assert unknown.status_code == 404
        assert "Unknown model 'gpt-5-codex'" in unknown.json()["error"]["message"]
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=15)


def test_serve_refuses_an_alias_that_is_not_name_equals_model(invoke: Invoke) -> None:
    result = invoke("serve", "--alias", "just-a-name")
    assert result.exit_code == 2
    assert "'just-a-name' is not NAME=MODEL" in result.stderr


def test_serve_passes_the_attachment_hosts_of_the_flags_and_the_config(
    invoke: Invoke, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import raycast_ai.server
    from raycast_ai.config import CONFIG_FILE, write_json

    seen: dict[str, object] = {}
    monkeypatch.setattr(raycast_ai.server, "serve", lambda *args, **kwargs: seen.update(kwargs))
    home.mkdir(parents=True)
    write_json(home / CONFIG_FILE, {"attachment_hosts": ["cdn.example.com"]})
    result = invoke(
        "serve",
        "--attachment-host",
        "127.0.0.1",
        "--attachment-host",
        "*.example.org",
        "--attachment-limit",
        "50",
        "--port",
        "0",  # serve binds before it runs: any free port
    )
    assert result.exit_code == 0, result.stderr
    assert seen["attachment_hosts"] == ("cdn.example.com", "127.0.0.1", "*.example.org")
    assert seen["max_attachment_bytes"] == 50_000_000


def _served_with(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, *args: str, input: str | None = None
) -> tuple[Any, dict[str, Any]]:
    import raycast_ai.server

    seen: dict[str, Any] = {}

    def fake_serve(*positional: Any, **kwargs: Any) -> None:
        seen.update(kwargs, api_keys=positional[2])

    monkeypatch.setattr(raycast_ai.server, "serve", fake_serve)
    return invoke("serve", "--port", "0", *args, input=input), seen


def test_serve_reads_keys_from_a_file_and_stdin_and_warns_about_argv(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# one per client\nsk-file-one\n\nsk-file-two  # the laptop\n")
    result, seen = _served_with(
        invoke, monkeypatch, "--api-key-file", str(keys), "--api-key", "-", input="sk-stdin\n"
    )
    assert result.exit_code == 0, result.stderr
    assert seen["api_keys"] == ("sk-file-one", "sk-file-two", "sk-stdin")
    assert "process list" not in result.stderr

    result, seen = _served_with(invoke, monkeypatch, "--api-key-stdin", input="sk-piped\n")
    assert seen["api_keys"] == ("sk-piped",)

    result, seen = _served_with(invoke, monkeypatch, "--api-key", "sk-on-argv")
    assert result.exit_code == 0, result.stderr
    assert seen["api_keys"] == ("sk-on-argv",)
    assert "visible to every local user in the process list" in result.stderr
    assert "sk-on-argv" not in result.stderr


def test_serve_refuses_a_key_file_without_a_key(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "keys"
    empty.write_text("# nothing yet\n")
    result, seen = _served_with(invoke, monkeypatch, "--api-key-file", str(empty))
    assert result.exit_code == 2
    assert "No key found" in result.stderr
    assert not seen


def test_serve_passes_the_allowed_hosts(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    result, seen = _served_with(
        invoke, monkeypatch, "--allowed-host", "gw.example", "--allowed-host", "*.corp.example"
    )
    assert result.exit_code == 0, result.stderr
    assert seen["allowed_hosts"] == ("gw.example", "*.corp.example")
