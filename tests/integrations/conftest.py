"""Fixtures for the integration tests: the pinned virtual environments other packages run in
(scripts/install-test-venvs.sh makes them under .cache/venvs, once), and the environment a
program in one of them needs to find the session's emulator."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from chaos import Gateway
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.server import GatewaySettings, create_app

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-test-venvs.sh"
VENVS = ROOT / ".cache" / "venvs"
CREATE_HINT = (
    "Create the test environments with scripts/install-test-venvs.sh (scripts/test.sh runs it; "
    "it needs PyPI)."
)


def venv_bin(name: str, env: Mapping[str, str] | None = None) -> Path:
    """The bin folder of the venv `name`, made now if it is missing or out of date; a venv that
    cannot be made fails the test with how to make it, never skips it. `env` (the script's
    environment) may name another folder in RAYCAST_AI_VENVS."""
    env = dict(os.environ if env is None else env)
    done = subprocess.run([str(SCRIPT), name], capture_output=True, text=True, cwd=ROOT, env=env)
    python = ROOT / env.get("RAYCAST_AI_VENVS", VENVS) / name / "bin" / "python"
    if done.returncode != 0 or not python.exists():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        pytest.fail(f"The '{name}' test environment could not be made. {CREATE_HINT}\n{tail}")
    return python.parent


@pytest.fixture(scope="session")
def venvs() -> Callable[[str], Path]:
    """`venvs(name)` is that venv's bin folder; each is checked (and made) once a session."""
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = venv_bin(name)
        return made[name]

    return get


def emulator_env(emulator: EmulatorServer, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a program in a test venv: our settings point at the emulator, the data
    folder is the test's own, and none of the caller's Raycast or proxy settings leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RAYCAST_", "LLM_", "OPENAI_", "ANTHROPIC_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        and k != "PYTHONPATH"
    }
    env.update(
        RAYCAST_BASE_URL=emulator.base_url,
        RAYCAST_SIGNING_SECRET=EMULATOR_SECRET,
        RAYCAST_AI_HOME=str(home),
        NO_PROXY="127.0.0.1,localhost",
        **extra,
    )
    return env


@pytest.fixture(scope="session")
def gateway(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`raycast-ai serve`'s app under uvicorn over the emulator; its base URL."""
    options = {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": emulator.base_url,
        "home": tmp_path_factory.mktemp("gateway-home"),
        "max_retries": 0,
    }
    with Gateway(create_app(GatewaySettings(client_options=options))) as server:
        yield server.base_url
