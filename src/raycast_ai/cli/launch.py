"""`raycast-ai launch claude|codex [ARGS...]`: a coding agent on Raycast AI, through a gateway
started for the run with a one-time API key (or a running one, `--gateway URL`)."""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from raycast_ai.config import private_dir

from . import runtime
from .completion import complete_model

HOST = "127.0.0.1"
STARTUP_SECONDS = 30.0
STOP_SECONDS = 5.0
KEY_ENV = "RAYCAST_AI_GATEWAY_KEY"  # Codex's env_key: the variable holding the gateway's key
PROVIDER = "raycast"
LOG_FILE = "launch-gateway.log"
# What Codex keeps in its home that a launched run should see too (instructions, prompts).
CODEX_SHARED = ("AGENTS.md", "prompts", "skills")


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    command: str
    title: str
    package: str

    @property
    def install(self) -> str:
        return f"npm install -g {self.package}"


AGENTS = {
    "claude": Agent("claude", "claude", "Claude Code", "@anthropic-ai/claude-code"),
    "codex": Agent("codex", "codex", "Codex CLI", "@openai/codex"),
}


class AgentNotFoundError(click.ClickException):
    def __init__(self, agent: Agent, path: str | None = None) -> None:
        where = f"is not at {path}" if path else f"is not installed ('{agent.command}' not on PATH)"
        super().__init__(
            f"{agent.title} {where}. Install it with: {agent.install} "
            "(needs Node.js and npm), or give its path with --agent-path."
        )


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("agent_name", metavar="AGENT", type=click.Choice(sorted(AGENTS)))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-m",
    "--model",
    shell_complete=complete_model,
    help="The model the agent asks for (default: your default model).",
)
@click.option(
    "--gateway",
    metavar="URL",
    help="Use a running gateway (e.g. http://127.0.0.1:8080) instead of starting one.",
)
@click.option(
    "--api-key",
    metavar="KEY",
    help="The running gateway's key (default: the first of RAYCAST_AI_API_KEYS).",
)
@click.option(
    "--agent-path",
    type=click.Path(dir_okay=False),
    help="The agent's executable, when it is not on PATH.",
)
def launch(
    agent_name: str,
    args: tuple[str, ...],
    model: str | None,
    gateway: str | None,
    api_key: str | None,
    agent_path: str | None,
) -> None:
    """Run Claude Code or Codex CLI on Raycast AI.

    A gateway starts on a free loopback port with a one-time API key, the agent runs with its
    settings pointed at it (ARGS are passed on as they are), and the gateway stops when the
    agent exits, with its exit code. The gateway's log goes to launch-gateway.log in the data
    folder.

    \b
        raycast-ai launch claude
        raycast-ai launch claude -p "explain this repository"
        raycast-ai launch --model openai-gpt-4o codex exec "fix the failing test"

    Options go before AGENT. Claude Code gets ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN and,
    with --model, ANTHROPIC_MODEL.
    Codex CLI gets a CODEX_HOME of its own whose config.toml is yours from ~/.codex plus a
    'raycast' model provider, selected.
    """
    agent = AGENTS[agent_name]
    executable = find_agent(agent, agent_path)
    model = model or runtime.prefs().default_model
    with contextlib.ExitStack() as stack:
        if gateway:
            base_url = gateway.rstrip("/").removesuffix("/v1")
            key = api_key or _first_key() or "unused"
            check_gateway(base_url, key)
        else:
            key = secrets.token_urlsafe(32)
            base_url = stack.enter_context(started_gateway(key, runtime.home() / LOG_FILE))
        env = bypass_proxy(os.environ, HOST)
        if agent.name == "claude":
            env = claude_env(env, base_url, key, model)
        else:
            # In the data folder: Codex refuses to put its helpers in a home under /tmp.
            private_dir(runtime.home())
            made = tempfile.TemporaryDirectory(prefix="codex-home-", dir=runtime.home())
            home = Path(stack.enter_context(made))
            env = codex_env(env, home, base_url, key, model)
        code = run_agent([executable, *args], env)
    raise click.exceptions.Exit(code)


def find_agent(agent: Agent, agent_path: str | None, path: str | None = None) -> str:
    """The agent's executable: `agent_path`, else the agent's command on PATH."""
    if agent_path:
        if os.path.isfile(agent_path) and os.access(agent_path, os.X_OK):
            return os.path.abspath(agent_path)
        raise AgentNotFoundError(agent, agent_path)
    found = shutil.which(agent.command, path=path)
    if found is None:
        raise AgentNotFoundError(agent)
    return found


def bypass_proxy(environ: Mapping[str, str], host: str) -> dict[str, str]:
    """`environ` with `host` in NO_PROXY and no_proxy: a proxy the user set for the internet
    cannot reach a gateway on this machine."""
    env = dict(environ)
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in env.get(name, "").split(",") if h.strip()]
        if host not in hosts:
            env[name] = ",".join([*hosts, host])
    return env


def claude_env(
    environ: Mapping[str, str], base_url: str, key: str, model: str | None
) -> dict[str, str]:
    """Claude Code's environment: the gateway as its Anthropic API, with Bearer `key`."""
    env = {k: v for k, v in environ.items() if k != "ANTHROPIC_API_KEY"}
    env["ANTHROPIC_BASE_URL"] = base_url
    env["ANTHROPIC_AUTH_TOKEN"] = key
    if model:
        # Side tasks and subagents ask for the small and default models: the same one for all.
        for name in (
            "ANTHROPIC_MODEL",
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "CLAUDE_CODE_SUBAGENT_MODEL",
        ):
            env[name] = model
    # Anthropic's own servers are not reachable with a gateway key: no telemetry, no updates.
    env.setdefault("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
    return env


def codex_env(
    environ: Mapping[str, str], home: Path, base_url: str, key: str, model: str | None
) -> dict[str, str]:
    """Codex CLI's environment: CODEX_HOME at `home`, made ready by `write_codex_home`."""
    user_home = Path(environ.get("CODEX_HOME") or Path(environ.get("HOME", "~")) / ".codex")
    write_codex_home(home, user_home.expanduser(), base_url, model)
    return {**environ, "CODEX_HOME": str(home), KEY_ENV: key}


def write_codex_home(home: Path, user_home: Path, base_url: str, model: str | None) -> None:
    """A Codex home whose config.toml is the user's with the gateway as its model provider;
    the user's instructions and prompts linked in."""
    try:
        user_text = (user_home / "config.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        user_text = ""
    text = codex_config(user_text, base_url, model, source=user_home / "config.toml")
    (home / "config.toml").write_text(text, encoding="utf-8")
    for name in CODEX_SHARED:
        if (user_home / name).exists() and not (home / name).exists():
            (home / name).symlink_to(user_home / name)


def codex_config(
    user_text: str, base_url: str, model: str | None, *, source: Path | None = None
) -> str:
    """The user's config.toml (read from `source`) with a 'raycast' model provider at
    `base_url`, selected."""
    try:
        config = tomllib.loads(user_text)
    except tomllib.TOMLDecodeError as exc:
        where = f" ({source})" if source else ""
        raise click.ClickException(
            f"Cannot read your Codex config.toml{where}: {exc}. Correct it there (Codex CLI "
            "reads it too); raycast-ai did not change it."
        ) from None
    config["model_provider"] = PROVIDER
    if model:
        config["model"] = model
    providers = config.setdefault("model_providers", {})
    providers[PROVIDER] = {
        "name": "Raycast AI",
        "base_url": f"{base_url}/v1",
        "wire_api": "responses",
        "env_key": KEY_ENV,
    }
    return toml_dumps(config)


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML for what `tomllib` reads: plain keys first, then a [table] per mapping, and
    [[arrays]] of tables."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not _is_table(v) and not _is_tables(v)}
    if path and (plain or not data):
        lines += ["", f"[{'.'.join(map(_key, path))}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for name, value in data.items():
        if _is_table(value):
            _table(value, (*path, name), lines)
        elif _is_tables(value):
            for item in value:
                lines += ["", f"[[{'.'.join(map(_key, (*path, name)))}]]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items()]


def _is_table(value: object) -> bool:
    return isinstance(value, Mapping)


def _is_tables(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _string(key)


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    for char in (c for c in set(escaped) if ord(c) < 0x20 or ord(c) == 0x7F):
        escaped = escaped.replace(char, f"\\u{ord(char):04x}")
    return f'"{escaped}"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) or value == value else "nan"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"TOML has no value for {type(value).__name__}")


@contextlib.contextmanager
def started_gateway(key: str, log_file: Path) -> Iterator[str]:
    """`raycast-ai serve` on a free loopback port with `key` as its only key, until the end of
    the block; its output goes to `log_file`. Yields its base URL."""
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "raycast_ai", "serve", "--host", HOST, "--port", str(port)]
    private_dir(log_file.parent)
    env = {**os.environ, "RAYCAST_AI_API_KEYS": key}
    with log_file.open("wb") as log:
        # A session of its own: Ctrl+C in the agent's terminal is the agent's, not the gateway's.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_dies_with(os.getpid()) if sys.platform == "linux" else None,
        )
        try:
            wait_ready(base_url, key, process, log_file)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def check_gateway(base_url: str, key: str) -> None:
    """That a gateway answers at `base_url` and takes `key`: agents retry a dead one for
    minutes."""
    request = urllib.request.Request(
        f"{base_url}/v1/models", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with _opener().open(request, timeout=10):
            return
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (401, 403):
            raise click.ClickException(
                f"The gateway at {base_url} refused the key (HTTP {exc.code}); give its key with "
                "--api-key or RAYCAST_AI_API_KEYS."
            ) from None
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise click.ClickException(
            f"No gateway answers at {base_url} ({reason}). Start one with 'raycast-ai serve', "
            "or leave out --gateway to have launch start one."
        ) from None


def wait_ready(base_url: str, key: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    request = urllib.request.Request(
        f"{base_url}/health", headers={"Authorization": f"Bearer {key}"}
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), _opener().open(request, timeout=2):
            return
        time.sleep(0.05)
    tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
    said = f": {' | '.join(tail)}" if tail else ""
    raise click.ClickException(f"The gateway did not start on {base_url}{said} (see {log_file})")


def _dies_with(parent: int) -> Callable[[], None]:
    """For the gateway's process, on Linux: SIGTERM when launch dies, even of SIGKILL, so that
    no gateway outlives its run."""

    def arrange() -> None:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # launch died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


def run_agent(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Runs the agent in this terminal and returns its exit code. Ctrl+C is the agent's to
    handle; SIGTERM and SIGHUP sent to launch go on to the agent, whose exit ends the run."""
    process = subprocess.Popen(list(command), env=dict(env))

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)

    # Set only now: an ignored signal would stay ignored in the agent across exec.
    handlers: dict[int, Any] = {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: forward}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = forward
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        code = process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def _opener() -> urllib.request.OpenerDirector:
    """No proxy: the gateway is on this machine, or where --gateway says."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _first_key() -> str | None:
    from raycast_ai.server.settings import API_KEYS_ENV, parse_keys

    keys = parse_keys(os.environ.get(API_KEYS_ENV, ""))
    return keys[0] if keys else None
