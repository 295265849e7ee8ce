"""Fixtures for the real agents: Claude Code and Codex CLI from .cache/agents (installed by
scripts/install-agents.sh at the pinned versions), a scripted emulator, and a gateway over it whose
exchanges are kept, so a failing test shows what the agent sent and what the gateway answered
(and RAYCAST_AI_AGENTS_RECORD=FOLDER saves them all)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chaos import Gateway
from raycast_ai.cli.launch import bypass_proxy
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.catalog import find_model
from raycast_ai.emulator.script import Script
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.request import CHAT_PATH
from raycast_ai.server import GatewaySettings, create_app

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install-agents.sh"
PREFIX = ROOT / ".cache" / "agents"
BIN = PREFIX / "node_modules" / ".bin"
PACKAGES = {"claude": "@anthropic-ai/claude-code", "codex": "@openai/codex"}
PIN_NAMES = {"claude": "CLAUDE_CODE_VERSION", "codex": "CODEX_VERSION"}
KEY = "sk-raycast-agents-test"
# A folder to keep what the agents sent the gateway and what it answered, e.g.
# RAYCAST_AI_AGENTS_RECORD=/tmp/agents ./scripts/test.sh tests/agents
RECORD_ENV = "RAYCAST_AI_AGENTS_RECORD"
NO_NPM = (
    "The agent tests need Claude Code and Codex CLI, which npm installs (scripts/install-agents.sh)"
    ", and npm is not on PATH. Install Node.js 20 or later with npm "
    "(https://nodejs.org/en/download, or: sudo apt-get install nodejs npm), then rerun."
)
# The command's output is not in the command: an answer holding it got it from the tool result.
OUTPUT = "made-42"
COMMAND = "printf 'made-%s\\n' $((40+2)) > created.txt && cat created.txt"
FILE_TASK = "make the file"
ANSWER = "Done. The command printed: {output}"
SCRIPT = Script.from_json(
    [
        {
            "tool": "^Bash$",
            "prompt": FILE_TASK,
            "arguments": {"command": COMMAND},
            "answer": ANSWER,
        },
        {
            "tool": "^exec_command$",
            "prompt": FILE_TASK,
            "arguments": {"cmd": COMMAND},
            "answer": ANSWER,
        },
        {
            "tool": "^(shell|local_shell)$",
            "prompt": FILE_TASK,
            "arguments": {"command": ["bash", "-lc", COMMAND]},
            "answer": ANSWER,
        },
    ]
)
# Every variable through which an agent could find a real account or the user's settings.
AGENT_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "CODEX_", "OPENAI_", "RAYCAST_")
QUIET = {
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "NO_COLOR": "1",
}
CODEX_QUIET = """\
check_for_update_on_startup = false

[analytics]
enabled = false

[feedback]
enabled = false

[history]
persistence = "none"
"""


def pins() -> dict[str, str]:
    text = INSTALL.read_text(encoding="utf-8")
    found = {}
    for agent, name in PIN_NAMES.items():
        match = re.search(rf"^{name}=(\S+)$", text, re.MULTILINE)
        assert match, f"{INSTALL} pins no {name}"
        found[agent] = match.group(1)
    return found


def installed(agent: str) -> str | None:
    path = PREFIX / "node_modules" / PACKAGES[agent] / "package.json"
    try:
        version = json.loads(path.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version) if (BIN / agent).exists() else None


@pytest.fixture(scope="session")
def agents_bin() -> Path:
    """The folder holding `claude` and `codex` at the pinned versions, installed if needed."""
    wanted = pins()
    if any(installed(agent) != version for agent, version in wanted.items()):
        if shutil.which("npm") is None:
            pytest.fail(NO_NPM, pytrace=False)
        done = subprocess.run(
            [str(INSTALL)], capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"{INSTALL} failed:\n{done.stdout}{done.stderr}", pytrace=False)
    for agent, version in wanted.items():
        assert installed(agent) == version, f"{PACKAGES[agent]}@{version} is not in {PREFIX}"
    return BIN


@dataclass
class Exchange:
    method: str
    path: str
    request: bytes
    status: int = 0
    response: bytearray = field(default_factory=bytearray)

    def json(self) -> Any:
        return json.loads(self.request)

    def __str__(self) -> str:
        answer = bytes(self.response[:2000]).decode("utf-8", "replace")
        return f"{self.method} {self.path} -> {self.status}: {answer}"


class Exchanges:
    """Pure ASGI in front of the gateway: keeps each request's body and the response's status
    and first bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.all: list[Exchange] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []
        more = True
        while more:
            message = await receive()
            parts.append(message.get("body", b""))
            more = message.get("more_body", False) and message["type"] == "http.request"
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        exchange = Exchange(scope["method"], path, b"".join(parts))
        self.all.append(exchange)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": exchange.request, "more_body": False}
            return await receive()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            elif message["type"] == "http.response.body" and len(exchange.response) < 65536:
                exchange.response += message.get("body", b"")
            await send(message)

        await self.app(scope, replay, keep)

    def since(self, start: int) -> list[Exchange]:
        return self.all[start:]

    def save(self, folder: Path) -> None:
        """Each exchange as NN-METHOD-path.json: the request body, the status, the answer's
        first bytes."""
        folder.mkdir(parents=True, exist_ok=True)
        for at, e in enumerate(self.all):
            name = re.sub(r"[^A-Za-z0-9.-]+", "_", e.path).strip("_")
            record = {
                "method": e.method,
                "path": e.path,
                "request": e.request.decode("utf-8", "replace"),
                "status": e.status,
                "response": bytes(e.response).decode("utf-8", "replace"),
            }
            text = json.dumps(record, indent=1, ensure_ascii=False)
            (folder / f"{at:02d}-{e.method}-{name}.json").write_text(text, encoding="utf-8")


@dataclass
class Stack:
    emulator: EmulatorServer
    gateway: Gateway
    exchanges: Exchanges

    @property
    def base_url(self) -> str:
        return self.gateway.base_url


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A scripted emulator and a gateway over it, with the key KEY."""
    logging.getLogger("raycast_ai").setLevel(logging.WARNING)
    with EmulatorServer(script=SCRIPT) as emulator:
        options = {
            "token": EMULATOR_TOKEN,
            "signing_secret": EMULATOR_SECRET,
            "base_url": emulator.base_url,
            "home": tmp_path_factory.mktemp("agents-gateway"),
            "max_retries": 0,
        }
        settings = GatewaySettings(api_keys=(KEY,), client_options=options)
        exchanges = Exchanges(create_app(settings))
        with Gateway(exchanges) as gateway:
            yield Stack(emulator, gateway, exchanges)
        folder = os.environ.get(RECORD_ENV)
        if folder:
            exchanges.save(Path(folder))


@pytest.fixture
def agent_env(tmp_path: Path, agents_bin: Path) -> dict[str, str]:
    """An environment with a fresh HOME, the agents first on PATH, no account of any kind, and
    neither telemetry nor update checks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(AGENT_PREFIXES)}
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text(CODEX_QUIET, encoding="utf-8")
    env.update(QUIET)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        PATH=f"{agents_bin}{os.pathsep}{env.get('PATH', '')}",
    )
    return bypass_proxy(env, "127.0.0.1")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str
    exchanges: list[Exchange]
    gateway_log: Path | None = None

    def explain(self) -> str:
        """The agent's output and the gateway's exchanges, for an assertion's message."""
        lines = [f"exit {self.code}", f"stdout: {self.stdout[-3000:]}"]
        lines += [f"stderr: {self.stderr[-3000:]}", "gateway exchanges:"]
        lines += [f"  {e}" for e in self.exchanges]
        if self.gateway_log is not None and self.gateway_log.exists():
            log = self.gateway_log.read_text(encoding="utf-8", errors="replace")
            lines.append(f"gateway log ({self.gateway_log}):\n{log[-3000:]}")
        return "\n".join(lines)


def run_agent(
    command: list[str], env: dict[str, str], cwd: Path, stack: Stack | None, timeout: float = 180
) -> Ran:
    start = len(stack.exchanges.all) if stack else 0
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        err = exc.stderr if isinstance(exc.stderr, str) else ""
        exchanges = stack.exchanges.since(start) if stack else []
        pytest.fail(Ran(-1, out, err, exchanges).explain() + f"\n(timed out after {timeout} s)")
    exchanges = stack.exchanges.since(start) if stack else []
    home = env.get("RAYCAST_AI_HOME")
    log = Path(home) / "launch-gateway.log" if home else None
    return Ran(done.returncode, done.stdout, done.stderr, exchanges, log)


def launch_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "raycast_ai", "launch", *args]


def launch_env(env: dict[str, str], emulator: EmulatorServer, tmp_path: Path) -> dict[str, str]:
    """`agent_env` plus the Raycast settings `raycast-ai launch` gives its gateway."""
    return {
        **env,
        "RAYCAST_BASE_URL": emulator.base_url,
        "RAYCAST_TOKEN": EMULATOR_TOKEN,
        "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
        "RAYCAST_AI_HOME": str(tmp_path / "raycast-ai"),
    }


def chat_bodies(emulator: EmulatorServer, nonce: str) -> list[dict[str, Any]]:
    """The Raycast chat bodies the emulator received that carry `nonce`, oldest first."""
    found = emulator.recorder.for_path(CHAT_PATH)
    return [r.json() for r in found if nonce.encode() in r.body]


def emulator_answer(emulator: EmulatorServer, nonce: str) -> str:
    """The text the emulator answered to the latest request carrying `nonce`."""
    bodies = chat_bodies(emulator, nonce)
    assert bodies, f"the emulator received no chat request with {nonce}"
    body = bodies[-1]
    users = [m for m in body["messages"] if m.get("author") == "user"]
    prompt = users[-1]["content"]["text"]
    entry = find_model(emulator.app.state.catalog, body["model"], body["provider"])
    assert entry is not None
    return "".join(answer_chunks(prompt, entry["id"], emulator.config.chunks))


def tool_results(emulator: EmulatorServer, nonce: str) -> list[str]:
    """The tool results the model side received in the conversation carrying `nonce`."""
    return [
        str(m["content"]["text"])
        for body in chat_bodies(emulator, nonce)
        for m in body["messages"]
        if m.get("author") == "tool"
    ]


def nonce() -> str:
    """A word that tells this test's requests from the others' in the emulator's records."""
    return f"n{uuid.uuid4().hex[:10]}"


def check_question(ran: Ran, stack: Stack, tag: str) -> None:
    assert ran.code == 0, ran.explain()
    assert ran.stdout.strip() == emulator_answer(stack.emulator, tag).strip(), ran.explain()


def check_file_task(ran: Ran, stack: Stack, tag: str, workdir: Path) -> None:
    """The agent ran the script's command: the file exists, and its output reached the model
    side (the emulator got it as a tool result, and the final answer quotes it)."""
    assert ran.code == 0, ran.explain()
    created = workdir / "created.txt"
    assert created.is_file(), ran.explain()
    assert created.read_text(encoding="utf-8") == f"{OUTPUT}\n"
    assert any(OUTPUT in result for result in tool_results(stack.emulator, tag)), ran.explain()
    said = ran.stdout.partition("Done. The command printed: ")[2]
    assert OUTPUT in said, ran.explain()
