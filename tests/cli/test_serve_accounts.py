"""`raycast-ai serve --accounts FILE`: a broken file is refused before the banner, on one line;
a good one spreads the requests of a real gateway process over its accounts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from gateway import free_port, wait_http
from raycast_ai.emulator.app import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Run

ACCOUNTS = """\
[[accounts]]
name = "first"
token_env = "FIRST_TOKEN"

[[accounts]]
name = "second"
token = "token-second"
"""


def accounts_file(folder: Path, text: str = ACCOUNTS) -> Path:
    path = folder / "accounts.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_help_names_the_option(run: Run) -> None:
    done = run("serve", "--help")
    assert done.code == 0
    assert "--accounts FILE" in done.stdout and "RAYCAST_AI_ACCOUNTS" in done.stdout


def test_a_broken_file_is_refused_before_the_banner(run: Run, tmp_path: Path) -> None:
    path = accounts_file(tmp_path, '[[accounts]]\nname = "first"\ntoken = "t"\ndevice_id = "x"\n')
    done = run("serve", "--port", "9", "--accounts", str(path))
    assert done.code == 3
    assert done.stderr.startswith(f"Error: {path}, line 4: account 'first': device_id is not")
    assert done.stderr.count("\n") == 1


def test_the_environment_names_the_file_and_pins_are_checked(run: Run, tmp_path: Path) -> None:
    path = accounts_file(
        tmp_path, '[[accounts]]\nname = "first"\ntoken = "t"\nkeys = ["key-0123456789ab"]\n'
    )
    done = run("serve", "--port", "9", extra={"RAYCAST_AI_ACCOUNTS": str(path)})
    assert done.code == 3
    assert done.stderr.startswith("Error: Account 'first' is pinned to key-0123456789ab, but")
    assert done.stderr.count("\n") == 1


@pytest.fixture
def accounts_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(tokens=("token-first", "token-second"))) as server:
        yield server


def test_a_gateway_process_spreads_requests_over_its_accounts(
    accounts_emulator: EmulatorServer, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    environ = {
        **os.environ,
        **env,
        "RAYCAST_BASE_URL": accounts_emulator.base_url,
        "FIRST_TOKEN": "token-first",
    }
    path = accounts_file(tmp_path)
    command = [sys.executable, "-m", "raycast_ai", "serve", "--port", str(port)]
    child = subprocess.Popen(
        [*command, "--accounts", str(path)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_http(port)
        body = {"model": "openai-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(2):
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            answer = httpx2.post(url, json=body, timeout=10)
            assert answer.status_code == 200
    finally:
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=15)
    assert f"Raycast accounts: first, second (from {path})" in stderr
    tokens = [r.headers["authorization"] for r in accounts_emulator.recorder.for_path(CHAT_PATH)]
    assert tokens == ["Bearer token-first", "Bearer token-second"]
    home = Path(env["RAYCAST_AI_HOME"])
    assert (home / "accounts" / "first" / "device_id").is_file()  # generated once, kept
