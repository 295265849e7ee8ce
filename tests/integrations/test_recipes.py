"""The README's recipes, run as written (the gateway's address and the prompt made this test's)
against the gateway over the emulator: the openai and anthropic SDKs in the dev venv; LiteLLM
(SDK and proxy) and LangChain in the `recipes` venv; aider in its own."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import ROOT, emulator_env

pytestmark = pytest.mark.slow  # each needs its venv (made once, minutes the first time)

README = ROOT / "README.md"
DOCUMENTED = "http://127.0.0.1:8080"
# LiteLLM (and aider through it) would download its price list at start.
OFFLINE = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}
MASTER_KEY = f"sk-{uuid.uuid4().hex}"


def recipe(name: str) -> str:
    """The code block after `<!-- recipe: NAME -->` in the README."""
    found = re.search(
        rf"<!-- recipe: {re.escape(name)} -->\n```\w*\n(.*?)```", README.read_text(), re.S
    )
    assert found, f"no recipe {name} in the README"
    return found.group(1)


def personal(name: str, gateway: str, mark: str) -> str:
    """The recipe pointed at this test's gateway, its prompts carrying `mark`."""
    code = recipe(name)
    assert DOCUMENTED in code
    return code.replace(DOCUMENTED, gateway).replace("Hello", f"Hello {mark}")


def nonce() -> str:
    return f"n{uuid.uuid4().hex[:10]}"


def chats(emulator: EmulatorServer, mark: str) -> list[dict[str, Any]]:
    requests = emulator.recorder.requests
    return [r.json() for r in requests if r.path == CHAT_PATH and mark.encode() in r.body]


def run(
    args: list[str], emulator: EmulatorServer, folder: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = emulator_env(emulator, folder / "home", **OFFLINE, **extra)
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=folder, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.parametrize(
    ("name", "venv", "model", "answers"),
    [
        ("openai", None, "gpt-4o-mini", 1),
        ("anthropic", None, "claude-sonnet-4-20250514", 1),
        ("litellm", "recipes", "gpt-4o-mini", 1),
        ("langchain-openai", "recipes", "gpt-4o-mini", 2),
        ("langchain-anthropic", "recipes", "claude-sonnet-4-20250514", 1),
    ],
)
def test_a_python_recipe(
    name: str,
    venv: str | None,
    model: str,
    answers: int,
    venvs: Callable[[str], Path],
    gateway: str,
    emulator: EmulatorServer,
    tmp_path: Path,
) -> None:
    mark = nonce()
    python = sys.executable if venv is None else str(venvs(venv) / "python")
    script = tmp_path / "recipe.py"
    script.write_text(personal(name, gateway, mark))
    done = run([python, str(script)], emulator, tmp_path)
    bodies = chats(emulator, mark)
    assert [b["model"] for b in bodies] == [model] * answers
    assert len(done.stdout.strip()) > 20  # the emulator's answers, printed


@pytest.fixture
def litellm_proxy(
    venvs: Callable[[str], Path], gateway: str, emulator: EmulatorServer, tmp_path: Path
) -> Iterator[str]:
    """`litellm --config raycast.yaml` with the README's file; its base URL once it is up."""
    config = tmp_path / "raycast.yaml"
    config.write_text(recipe("litellm-proxy").replace(DOCUMENTED, gateway))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = emulator_env(emulator, tmp_path / "home", **OFFLINE, LITELLM_MASTER_KEY=MASTER_KEY)
    log = (tmp_path / "litellm.log").open("w")
    process = subprocess.Popen(
        [
            str(venvs("recipes") / "litellm"),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "litellm.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "LiteLLM's proxy did not start in 90 s"
            try:
                if httpx2.get(base + "/health/liveliness", timeout=1.0).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_the_litellm_proxy_recipe(litellm_proxy: str, emulator: EmulatorServer) -> None:
    mark = nonce()
    client = openai.OpenAI(base_url=litellm_proxy, api_key=MASTER_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="raycast-claude-sonnet-4", messages=[{"role": "user", "content": f"Hello {mark}"}]
    )
    assert len(reply.choices[0].message.content or "") > 20
    stream = client.chat.completions.create(
        model="raycast-gpt-4o-mini",
        messages=[{"role": "user", "content": f"Hello again {mark}"}],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert len(text) > 20
    assert [b["model"] for b in chats(emulator, mark)] == [
        "claude-sonnet-4-20250514",
        "gpt-4o-mini",
    ]


def test_the_aider_recipe(
    venvs: Callable[[str], Path], gateway: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    mark = nonce()
    command = (
        personal("aider", gateway, mark)
        .strip()
        .replace("aider ", f"{venvs('aider') / 'aider'} ", 1)
    )
    once = (
        f" --message 'Hello {mark}: say hi' --yes-always --no-git --no-check-update"
        " --analytics-disable --no-pretty --no-fancy-input"
    )
    done = run(["bash", "-c", command + once], emulator, tmp_path, HOME=str(tmp_path))
    bodies = chats(emulator, mark)
    assert bodies and {b["model"] for b in bodies} == {"claude-sonnet-4-20250514"}
    assert "openai/anthropic-claude-sonnet-4" in done.stdout
