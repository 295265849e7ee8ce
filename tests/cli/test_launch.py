"""`raycast-ai launch`: the environment and Codex config it builds, the message when an agent is
missing, and a whole run with a fake agent on PATH that reports what it was given."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import psutil
import pytest

from raycast_ai.cli.launch import (
    AGENTS,
    KEY_ENV,
    AgentNotFoundError,
    bypass_proxy,
    claude_env,
    codex_config,
    codex_env,
    find_agent,
    free_port,
    toml_dumps,
)

from .conftest import Invoke, Run

BASE = "http://127.0.0.1:5555"

# Prints what an agent would see: its arguments, the variables launch sets, Codex's config, and
# whether the gateway answers /health with the key it was given; exits with FAKE_EXIT.
FAKE_AGENT = f"""#!{sys.executable}
import json, os, sys, urllib.request
env = os.environ
base = env.get("ANTHROPIC_BASE_URL")
key = env.get("ANTHROPIC_AUTH_TOKEN") or env.get("{KEY_ENV}")
config = None
if env.get("CODEX_HOME"):
    with open(os.path.join(env["CODEX_HOME"], "config.toml")) as f:
        config = f.read()
    import tomllib
    base = tomllib.loads(config)["model_providers"]["raycast"]["base_url"].removesuffix("/v1")
request = urllib.request.Request(base + "/health", headers={{"Authorization": "Bearer " + key}})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
try:
    health = opener.open(request, timeout=5).status
except Exception as exc:
    health = repr(exc)
names = [n for n in env if n.startswith(("ANTHROPIC_", "CLAUDE_", "CODEX_", "{KEY_ENV}"))]
print(json.dumps({{
    "args": sys.argv[1:], "env": {{n: env[n] for n in names}}, "config": config,
    "health": health, "base": base,
}}), flush=True)
import time
time.sleep(float(env.get("FAKE_SLEEP", "0")))
sys.exit(int(env.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for agent in AGENTS.values():
        path = folder / agent.command
        path.write_text(FAKE_AGENT, encoding="utf-8")
        path.chmod(0o755)
    return folder


def test_claude_env_points_at_the_gateway_with_the_key() -> None:
    environ = {"ANTHROPIC_API_KEY": "sk-ant-real", "PATH": "/bin"}
    env = claude_env(environ, BASE, "one-time", None)
    assert env == {
        "PATH": "/bin",
        "ANTHROPIC_BASE_URL": BASE,
        "ANTHROPIC_AUTH_TOKEN": "one-time",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    assert environ["ANTHROPIC_API_KEY"] == "sk-ant-real"  # the caller's mapping is left alone


def test_claude_env_asks_every_model_slot_for_the_model() -> None:
    env = claude_env({"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "0"}, BASE, "k", "m-1")
    assert env["ANTHROPIC_MODEL"] == env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == "m-1"
    assert env["ANTHROPIC_DEFAULT_SONNET_MODEL"] == env["CLAUDE_CODE_SUBAGENT_MODEL"] == "m-1"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "0"  # the user's own choice


USER_CONFIG = """\
model = "gpt-5"
model_provider = "openai"
approval_policy = "on-request"
check_for_update_on_startup = false

[model_providers.ollama]
name = "Ollama"
base_url = "http://localhost:11434/v1"

[profiles.fast]
model = "o4-mini"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]
env = { "API-TOKEN" = "x" }

[[skills.config]]
path = "/tmp/s"
enabled = false
"""


def test_codex_config_keeps_the_users_settings_and_selects_raycast() -> None:
    config = tomllib.loads(codex_config(USER_CONFIG, BASE, "openai-gpt-4o-mini"))
    user = tomllib.loads(USER_CONFIG)
    assert config["model_provider"] == "raycast"
    assert config["model"] == "openai-gpt-4o-mini"
    assert config["model_providers"]["raycast"] == {
        "name": "Raycast AI",
        "base_url": f"{BASE}/v1",
        "wire_api": "responses",
        "env_key": KEY_ENV,
    }
    for name in ("approval_policy", "check_for_update_on_startup", "profiles", "mcp_servers"):
        assert config[name] == user[name]
    assert config["skills"] == user["skills"]
    assert config["model_providers"]["ollama"] == user["model_providers"]["ollama"]


def test_codex_config_without_a_model_keeps_the_users_and_works_from_nothing() -> None:
    assert tomllib.loads(codex_config(USER_CONFIG, BASE, None))["model"] == "gpt-5"
    config = tomllib.loads(codex_config("", BASE, None))
    assert set(config) == {"model_provider", "model_providers"}


def test_a_broken_user_config_is_named() -> None:
    with pytest.raises(click.ClickException, match=r"Cannot read your Codex config\.toml"):
        codex_config("model = ", BASE, None)
    where = Path("/home/me/.codex/config.toml")
    with pytest.raises(click.ClickException) as caught:
        codex_config('model = "a"\nbroken =\n', BASE, None, source=where)
    assert f"config.toml ({where}): " in caught.value.message
    assert "line 2" in caught.value.message


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"a": 1, "b": -2.5, "c": True, "d": 'x"y\\z\n\t\x01é', "e": [1, 2], "f": []},
        {"weird key": {"x.y": {"": 1}}, "empty": {}},
        {"t": {"inline": [{"a": 1}, {"b": "c"}], "mixed": [1, {"a": 2}]}},
        {"when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)},
        {"day": datetime.date(2026, 1, 2), "at": datetime.time(3, 4, 5)},
        {"top": 1, "a": {"b": {"c": {"d": 1}, "e": 2}}, "arr": [{"x": {"y": 1}}]},
    ],
)
def test_toml_dumps_reads_back_the_same(data: dict[str, Any]) -> None:
    assert tomllib.loads(toml_dumps(data)) == data


def test_codex_env_has_its_own_home_and_the_key(tmp_path: Path) -> None:
    user_home = tmp_path / "user" / ".codex"
    user_home.mkdir(parents=True)
    (user_home / "config.toml").write_text(USER_CONFIG, encoding="utf-8")
    (user_home / "AGENTS.md").write_text("Be brief.", encoding="utf-8")
    (user_home / "auth.json").write_text("{}", encoding="utf-8")
    home = tmp_path / "launched"
    home.mkdir()
    env = codex_env({"HOME": str(tmp_path / "user")}, home, BASE, "one-time", "m-1")
    assert env["CODEX_HOME"] == str(home)
    assert env[KEY_ENV] == "one-time"
    assert (home / "AGENTS.md").read_text(encoding="utf-8") == "Be brief."
    assert not (home / "auth.json").exists()
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert (config["model"], config["approval_policy"]) == ("m-1", "on-request")
    # CODEX_HOME, when the user has one, is where their config is read from.
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.toml").write_text('approval_policy = "never"\n', encoding="utf-8")
    codex_env({"CODEX_HOME": str(other)}, home, BASE, "k", None)
    config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
    assert config["approval_policy"] == "never"


@pytest.mark.parametrize(("name", "package"), [("claude", "claude-code"), ("codex", "codex")])
def test_a_missing_agent_says_which_package_installs_it(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, package: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = invoke("launch", name, "-p", "hi")
    assert result.exit_code == 1
    install = f"npm install -g @{'anthropic-ai' if name == 'claude' else 'openai'}/{package}"
    assert install in result.stderr
    assert f"'{name}' not on PATH" in result.stderr
    assert "--agent-path" in result.stderr


def test_a_wrong_agent_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(AgentNotFoundError, match=r"is not at /nowhere/claude\. Install it"):
        find_agent(AGENTS["claude"], "/nowhere/claude")
    script = tmp_path / "not-executable"
    script.write_text("", encoding="utf-8")
    with pytest.raises(AgentNotFoundError):
        find_agent(AGENTS["codex"], str(script))


def launched(run: Run, fake_bin: Path, *args: str, **extra: str) -> tuple[int, dict[str, Any]]:
    path = f"{fake_bin}{os.pathsep}{os.environ['PATH']}"
    done = run("launch", *args, extra={"PATH": path, **extra}, timeout=60)
    assert done.stdout, done.stderr
    return done.code, json.loads(done.stdout)


def refuses(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


def test_launch_claude_runs_it_on_a_gateway_of_its_own(
    run: Run, fake_bin: Path, tmp_path: Path
) -> None:
    home = tmp_path / "user"
    code, seen = launched(
        run,
        fake_bin,
        "--model",
        "openai-gpt-4o-mini",
        "claude",
        "-p",
        "question",
        "--dangerously-skip-permissions",
        HOME=str(home),
        ANTHROPIC_API_KEY="sk-ant-real",
        FAKE_EXIT="7",
    )
    assert code == 7
    assert seen["args"] == ["-p", "question", "--dangerously-skip-permissions"]
    env = seen["env"]
    assert env["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:")
    assert len(env["ANTHROPIC_AUTH_TOKEN"]) >= 32
    assert "ANTHROPIC_API_KEY" not in env
    assert env["ANTHROPIC_MODEL"] == "openai-gpt-4o-mini"
    assert seen["health"] == 200
    assert refuses(env["ANTHROPIC_BASE_URL"])  # stopped after the agent


def test_launch_codex_runs_it_with_a_raycast_provider(
    run: Run, fake_bin: Path, tmp_path: Path
) -> None:
    user_home = tmp_path / "user" / ".codex"
    user_home.mkdir(parents=True)
    (user_home / "config.toml").write_text(USER_CONFIG, encoding="utf-8")
    code, seen = launched(
        run, fake_bin, "codex", "exec", "--skip-git-repo-check", "q", HOME=str(user_home.parent)
    )
    assert code == 0
    assert seen["args"] == ["exec", "--skip-git-repo-check", "q"]
    config = tomllib.loads(seen["config"])
    assert config["model_provider"] == "raycast"
    assert config["model"] == "gpt-5"  # no --model and no default model: the user's
    assert config["approval_policy"] == "on-request"
    assert len(seen["env"][KEY_ENV]) >= 32
    assert seen["health"] == 200
    assert not Path(seen["env"]["CODEX_HOME"]).exists()  # removed after the run
    assert refuses(seen["base"])


@contextlib.contextmanager
def serving(key: str) -> Iterator[str]:
    """`raycast-ai serve` with `key`, on the emulator that `env` points at."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environ = {**os.environ, "RAYCAST_AI_API_KEYS": key}
    command = [sys.executable, "-m", "raycast_ai", "serve", "--port", str(port)]
    with subprocess.Popen(command, env=environ, stdin=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 20
            while refuses(base_url):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            yield base_url
        finally:
            process.terminate()
            process.wait(10)


def test_launch_uses_a_running_gateway_with_its_key(
    run: Run, fake_bin: Path, tmp_path: Path
) -> None:
    with serving("first") as base_url:
        code, seen = launched(
            run, fake_bin, "--gateway", f"{base_url}/v1", "claude", RAYCAST_AI_API_KEYS="first,x"
        )
        assert code == 0
        assert seen["env"]["ANTHROPIC_BASE_URL"] == base_url
        assert seen["env"]["ANTHROPIC_AUTH_TOKEN"] == "first"
        assert seen["health"] == 200
        code, seen = launched(
            run, fake_bin, "--gateway", base_url, "--api-key", "first", "codex", "exec"
        )
        assert seen["env"][KEY_ENV] == "first"
        provider = tomllib.loads(seen["config"])["model_providers"]["raycast"]
        assert provider["base_url"] == f"{base_url}/v1"
        path = f"{fake_bin}{os.pathsep}{os.environ['PATH']}"
        done = run(
            "launch", "--gateway", base_url, "--api-key", "wrong", "codex", extra={"PATH": path}
        )
        assert done.code == 1
        assert "refused the key (HTTP 401); give its key with --api-key" in done.stderr
        assert not done.stdout  # the agent never ran
    done = run("launch", "--gateway", base_url, "claude", extra={"PATH": path})
    assert done.code == 1
    assert f"No gateway answers at {base_url}" in done.stderr
    assert "Start one with 'raycast-ai serve'" in done.stderr


def started_launch(fake_bin: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`raycast-ai launch claude` with a fake agent that sleeps; its gateway's base URL."""
    environ = {k: v for k, v in os.environ.items() if k != "RAYCAST_AI_API_KEYS"}
    environ.update(env, PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}", FAKE_SLEEP="60")
    process = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", "launch", "claude"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        env=environ,
    )
    assert process.stdout is not None
    seen = json.loads(process.stdout.readline())
    assert seen["health"] == 200
    return process, str(seen["env"]["ANTHROPIC_BASE_URL"])


def gone(base_url: str, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if refuses(base_url):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_to_launch_ends_the_agent_and_the_gateway(
    fake_bin: Path, env: dict[str, str]
) -> None:
    process, base_url = started_launch(fake_bin, env)
    with process:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 128 + signal.SIGTERM  # the agent's own end, passed on
    assert gone(base_url)


def test_a_killed_launch_leaves_no_gateway(fake_bin: Path, env: dict[str, str]) -> None:
    """On Linux, through the parent-death signal."""
    process, base_url = started_launch(fake_bin, env)
    children = psutil.Process(process.pid).children()  # the gateway and the agent
    try:
        with process:
            process.kill()
            process.wait(10)
        assert gone(base_url)
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


def test_launch_asks_for_the_default_model_without_model(
    run: Run, fake_bin: Path, home: Path
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text('{"default_model": "openai-gpt-4o"}', encoding="utf-8")
    code, seen = launched(run, fake_bin, "claude")
    assert code == 0
    assert seen["env"]["ANTHROPIC_MODEL"] == "openai-gpt-4o"


def test_the_agent_reaches_the_gateway_past_any_proxy() -> None:
    env = bypass_proxy({"NO_PROXY": "example.com", "HTTPS_PROXY": "http://proxy:3128"}, "127.0.0.1")
    assert env["NO_PROXY"] == "example.com,127.0.0.1"
    assert env["no_proxy"] == "127.0.0.1"
    assert bypass_proxy(env, "127.0.0.1") == env
