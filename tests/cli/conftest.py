"""Fixtures: the CLI run in-process (click's CliRunner) or as a real subprocess, both pointed at
the emulator (tests/conftest.py) through the environment, with a fresh data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from raycast_ai.cli.app import cli
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.events import Event, Finish, TextDelta, Usage

_CLEARED = (
    "RAYCAST_TOKEN",
    "RAYCAST_SIGNING_SECRET",
    "RAYCAST_DEVICE_ID",
    "RAYCAST_BASE_URL",
    "RAYCAST_AI_HOME",
    "RAYCAST_AI_API_KEYS",
    "NO_COLOR",
    "COLUMNS",
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(emulator: EmulatorServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment that points the CLI at the emulator, set in this process too."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    values = {
        "RAYCAST_BASE_URL": emulator.base_url,
        "RAYCAST_TOKEN": EMULATOR_TOKEN,
        "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
        "RAYCAST_AI_HOME": str(home),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(env: dict[str, str]) -> Invoke:
    """Runs `raycast-ai ARGS...` in this process; stdout and stderr apart."""

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, prog_name="raycast-ai")

    return run


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


Run = Callable[..., Done]


@pytest.fixture
def run(env: dict[str, str]) -> Run:
    """Runs `python -m raycast_ai ARGS...` as a real subprocess."""

    def call(
        *args: str,
        input: str | None = None,
        extra: dict[str, str] | None = None,
        timeout: float = 20.0,
    ) -> Done:
        environ = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        environ.update(env)
        environ.update(extra or {})
        done = subprocess.run(
            [sys.executable, "-m", "raycast_ai", *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=environ,
            timeout=timeout,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    return call


# A scripted client for what the emulator cannot say (code fences, for instance).

MODEL = ModelEntry(id="fake-model", model="fake", provider="fake", name="Fake")


class FakeStream:
    def __init__(self, events: Sequence[Event]) -> None:
        self.model = MODEL
        self._events = iter(events)
        self.closed = False

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def close(self) -> None:
        self.closed = True


class FakeClient:
    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.calls: list[dict[str, Any]] = []

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def models(self, *, refresh: bool = False) -> Catalog:
        return Catalog((MODEL,), {"chat": MODEL.id})

    def stream(self, messages: Any, model: str | None = None, **options: Any) -> FakeStream:
        self.calls.append({"messages": messages, "model": model, **options})
        text = self.texts.pop(0)
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        return FakeStream([*map(TextDelta, pieces), Usage(1, 2), Finish("stop")])


Fake = Callable[..., FakeClient]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Fake:
    """`fake("answer", ...)` makes the CLI's client answer these texts, in order."""

    def install(*texts: str) -> FakeClient:
        client = FakeClient(*texts)
        monkeypatch.setattr("raycast_ai.cli.runtime.make_client", lambda **_: client)
        return client

    return install
