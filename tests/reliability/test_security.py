"""The security defaults that tests/server, tests/cli and tests/emulator do not already pin.

Already pinned elsewhere (and listed in docs/reliability.md): loopback-only binding without a key
(`serve()`, `raycast-ai serve`, the emulator), 401 in OpenAI's shape, CORS preflights from other
origins, 413, and the modes of the credentials file and of the log. Here: keys compared in
constant time, secrets absent from everything the CLI and the gateway print, log, answer or
raise, and every file of the data folder private whatever the umask.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from gateway import free_port, wait_http
from raycast_ai.client import AsyncRaycastClient, Timeout
from raycast_ai.emulator.config import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.history import History
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.request import CHAT_PATH
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.server.security import APIKeyMiddleware

from .conftest import InProcessGateway

TOKEN = "tok-QUOKKA-user-token"
SECRET = "sec-PANGOLIN-signing-secret"
API_KEY = "sk-AXOLOTL-gateway-key"
SECRETS = (TOKEN, SECRET, API_KEY, "QUOKKA", "PANGOLIN", "AXOLOTL")
MODEL = "openai-gpt-4o-mini"
COMPLETIONS = "/v1/chat/completions"
FAULTS = ("401", "403", "500", "503", "reset-before", "reset-mid", "truncate", "malformed")


def assert_no_secret(*texts: object) -> None:
    for i, text in enumerate(texts):
        shown = str(text)
        for secret in SECRETS:
            assert secret not in shown, f"{secret!r} leaked in text {i}: {shown[:2000]}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """An emulator that accepts only this file's distinctive token and secret."""
    with EmulatorServer(EmulatorConfig(token=TOKEN, secret=SECRET)) as server:
        yield server


@pytest.fixture
def env(emulator: EmulatorServer, tmp_path: Path) -> dict[str, str]:
    """A child's environment holding the secrets, pointed at the emulator."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAYCAST")}
    return {
        **base,
        "RAYCAST_BASE_URL": emulator.base_url,
        "RAYCAST_TOKEN": TOKEN,
        "RAYCAST_SIGNING_SECRET": SECRET,
        "RAYCAST_AI_API_KEYS": API_KEY,
        "RAYCAST_AI_HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
    }


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "raycast_ai", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )


def test_keys_are_compared_in_constant_time_against_every_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        pass

    middleware = APIKeyMiddleware(app, keys=["sk-one", "sk-two", "sk-three"])
    for presented, accepted in [(b"sk-one", True), (b"sk-three", True), (b"sk-nope", False)]:
        calls.clear()
        scope = {"headers": [(b"authorization", b"Bearer " + presented)]}
        assert (middleware.check(scope) is None) is accepted
        # One comparison per configured key, however early one matches, of equal-size digests:
        # neither which key matched nor how much of it leaks through the time taken.
        assert len(calls) == 3
        assert all(len(a) == len(b) == 32 for a, b in calls)
        assert all(presented not in a + b for a, b in calls)


@pytest.mark.parametrize(
    "headers",
    [
        # A "simple" request: a browser sends it without asking first (no preflight).
        {"origin": "https://evil.example", "content-type": "text/plain;charset=UTF-8"},
        # A sandboxed frame or a file:// page.
        {"origin": "null", "content-type": "application/x-www-form-urlencoded"},
        # DNS rebinding: a page whose host name now points at 127.0.0.1 is same-origin to the
        # browser, which would let it read the answer as well.
        {"origin": "http://rebound.example:8080", "host": "rebound.example:8080"},
    ],
    ids=["text-plain", "null-origin", "dns-rebinding"],
)
def test_a_web_page_elsewhere_cannot_spend_the_token(
    inprocess: InProcessGateway, headers: dict[str, str]
) -> None:
    """Regression: only preflights were checked, so a page anywhere could make the gateway ask
    Raycast (and spend the user's token) with a request that needs none."""
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "spend it"}]})
    asked = len(inprocess.recorder.for_path(CHAT_PATH))
    response = inprocess.request("POST", COMPLETIONS, content=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cors_origin"
    assert not [h for h in response.headers if h.startswith("access-control-")]
    assert len(inprocess.recorder.for_path(CHAT_PATH)) == asked
    local = inprocess.request(
        "POST", COMPLETIONS, content=body, headers={**headers, "origin": "http://localhost:5173"}
    )
    assert local.status_code == 200
    assert local.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert inprocess.request("POST", COMPLETIONS, content=body).status_code == 200  # no Origin


@pytest.mark.slow
def test_the_cli_never_shows_a_secret(env: dict[str, str], emulator: EmulatorServer) -> None:
    runs = [
        cli(env, "--debug", "ask", f"hello @fault:{fault}", "--retries", "1") for fault in FAULTS
    ]
    assert all(run.returncode != 0 for run in runs)
    prompt = "a clean question"
    good = cli(env, "--debug", "ask", prompt)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "".join(answer_chunks(prompt, MODEL, 12))
    runs += [good, cli(env, "--debug", "auth", "status"), cli(env, "--debug", "models")]
    assert "DEBUG" in good.stderr  # --debug did turn every logger up
    assert_no_secret(*(run.stdout + run.stderr for run in runs))
    home = Path(env["RAYCAST_AI_HOME"])
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"logs.db", "models-cache.json", "device_id"}
    assert_no_secret(*(p.read_bytes().decode("latin-1") for p in files))


def _exercise(http: Any, faults: tuple[str, ...] = FAULTS) -> list[str]:
    """Answers and errors of every kind, as text, from a gateway keyed with API_KEY behind
    `http` (an `httpx2.Client` or a `TestClient`)."""
    key = {"authorization": f"Bearer {API_KEY}"}
    close = {"authorization": "Bearer sk-AXOLOTL-gateway-kez"}  # one letter off
    seen: list[str] = []
    for headers in ({}, close, key, {"x-api-key": API_KEY}):
        response = http.get("/v1/models", headers=headers)
        seen.append(f"{response.status_code} {response.headers} {response.text}")
    for prompt in ["hi", *(f"hi @fault:{f}" for f in faults)]:
        messages = [{"role": "user", "content": prompt}]
        for stream in (False, True):
            body = {"model": MODEL, "stream": stream, "messages": messages}
            response = http.post(COMPLETIONS, json=body, headers=key)
            seen.append(f"{response.status_code} {response.headers} {response.text}")
    assert [line[:3] for line in seen[:5]] == ["401", "401", "200", "200", "200"]
    return seen


def test_the_gateway_process_never_shows_a_secret(env: dict[str, str]) -> None:
    port = free_port()
    args = [sys.executable, "-m", "raycast_ai", "--debug", "serve", "--port", str(port)]
    child = subprocess.Popen(
        [*args, "--log-level", "debug"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_http(port)
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            answers = _exercise(http)
    finally:
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    assert "POST /v1/chat/completions" in err  # the access log was on
    assert "stream failed after 200" in err  # and the gateway's own records
    assert_no_secret(out, err, *answers)


def _options(emulator: EmulatorServer, home: Path) -> dict[str, Any]:
    return {
        "token": TOKEN,
        "signing_secret": SECRET,
        "base_url": emulator.base_url,
        "home": home,
        "timeout": Timeout(read=0.5),
    }


def test_the_gateways_logs_answers_and_reprs_never_show_a_secret(
    emulator: EmulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # A gateway served earlier in this process gave "raycast_ai" its own handler.
    caplog.set_level(logging.DEBUG, logger="raycast_ai")
    monkeypatch.setattr(logging.getLogger("raycast_ai"), "propagate", True)
    settings = GatewaySettings(api_keys=(API_KEY,), client_options=_options(emulator, tmp_path))
    app = create_app(settings)
    texts: list[object] = [settings]
    with TestClient(app, base_url="http://127.0.0.1") as http:
        texts += _exercise(http, (*FAULTS, "stall"))
        client = app.state.client
        texts += [app.state.settings, client, client.settings, vars(client)]
    texts += [(r.getMessage(), r.args, r.exc_text) for r in caplog.records]
    assert any(r.name == "raycast_ai.transport" for r in caplog.records)  # DEBUG was on
    assert "stream failed after 200" in caplog.text
    assert_no_secret(caplog.text, *texts)


@pytest.mark.anyio
async def test_the_clients_errors_never_show_a_secret(
    emulator: EmulatorServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[object] = []
    async with AsyncRaycastClient(**_options(emulator, tmp_path), max_retries=0) as client:
        for fault in (*FAULTS, "stall-before", "stall", "context_error"):
            with pytest.raises(RaycastError) as caught:
                await client.complete([{"role": "user", "content": f"x @fault:{fault}"}])
            error = caught.value
            texts += [repr(error), error.args, vars(error), *traceback.format_exception(error)]
    texts += [(r.getMessage(), r.args, r.exc_text) for r in caplog.records]
    assert_no_secret(caplog.text, *texts)


def test_every_file_of_the_data_folder_is_private_whatever_the_umask(env: dict[str, str]) -> None:
    """Not only the credentials and the log: the models cache, the device id, the preferences and
    SQLite's side files too, and the folder itself, even when the umask would allow anything."""
    home = Path(env["RAYCAST_AI_HOME"])
    old = os.umask(0)  # inherited by the children
    try:
        for args in (
            ("auth", "set", "--token", TOKEN, "--signing-secret", SECRET),
            ("aliases", "set", "quick", MODEL),
            ("ask", "hello"),
        ):
            done = cli(env, *args)
            assert done.returncode == 0, done.stderr
        with History.open(home) as log:  # open, so that SQLite's -wal and -shm files exist
            log.start(log.create(MODEL).id, "prompt", None, MODEL)
            modes = {
                str(p.relative_to(home)): stat.S_IMODE(p.stat().st_mode)
                for p in [home, *home.rglob("*")]
            }
    finally:
        os.umask(old)
    expected = {"credentials.json", "config.json", "device_id", "models-cache.json", "logs.db"}
    assert {*expected, "logs.db-wal", "logs.db-shm"} <= modes.keys()
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (home / name).is_dir() else 0o600)
    }
    assert not wrong


def test_the_folders_made_for_the_data_folder_are_private_whatever_the_umask(
    env: dict[str, str], tmp_path: Path
) -> None:
    """RAYCAST_AI_HOME's missing parents too: `mkdir(mode=0o700, parents=True)` made them 0777
    under umask 000, so another user could swap the data folder for their own."""
    top = tmp_path / "made"
    home = top / "by" / "raycast-ai"
    old = os.umask(0)
    try:
        done = cli({**env, "RAYCAST_AI_HOME": str(home)}, "aliases", "set", "quick", MODEL)
        assert done.returncode == 0, done.stderr
    finally:
        os.umask(old)
    modes = {
        str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in (top, top / "by", home)
    }
    assert set(modes.values()) == {"0o700"}, modes
