"""`raycast-ai auth`: a private credentials file, sources shown without secrets, precedence."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pexpect
import pytest

from raycast_ai.config import CREDENTIALS_FILE
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN

from .conftest import Invoke, Run

DEVICE = "ab" * 32


@pytest.fixture
def stored_only(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Only the base URL and the data folder in the environment."""
    monkeypatch.delenv("RAYCAST_TOKEN")
    monkeypatch.delenv("RAYCAST_SIGNING_SECRET")
    return env


def test_set_writes_a_private_file(invoke: Invoke, home: Path, stored_only: object) -> None:
    result = invoke(
        "auth",
        "set",
        "--token",
        "tok-VALUE",
        "--signing-secret",
        "sec-VALUE",
        "--device-id",
        DEVICE,
    )
    assert result.exit_code == 0, result.stderr
    path = home / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {
        "device_id": DEVICE,
        "signing_secret": "sec-VALUE",
        "token": "tok-VALUE",
    }
    assert "VALUE" not in result.stdout
    # A second call changes only what it names.
    invoke("auth", "set", "--token", "new")
    assert json.loads(path.read_text())["signing_secret"] == "sec-VALUE"


def test_status_names_sources_never_secrets(
    invoke: Invoke, home: Path, stored_only: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("auth", "set", "--token", "file-token-value", "--signing-secret", "file-secret-value")
    monkeypatch.setenv("RAYCAST_TOKEN", "env-token-value")
    result = invoke("auth", "status")
    assert result.exit_code == 0, result.stderr
    lines = dict(line.split("  ", 1) for line in result.stdout.splitlines())
    assert lines["token"].strip() == "set (environment RAYCAST_TOKEN)"
    assert lines["signing secret"].strip() == f"set (file {home / CREDENTIALS_FILE})"
    assert "value" not in result.stdout + result.stderr
    assert "generated on the first request" in lines["device id"]


def test_status_without_credentials_says_what_to_do(invoke: Invoke, stored_only: object) -> None:
    result = invoke("auth", "status")
    assert "token           not set" in result.stdout
    assert "raycast-ai auth set" in result.stderr


def test_the_environment_wins_over_the_file(
    invoke: Invoke, stored_only: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("auth", "set", "--token", EMULATOR_TOKEN, "--signing-secret", EMULATOR_SECRET)
    assert invoke("from the file @chunks:2").exit_code == 0
    monkeypatch.setenv("RAYCAST_TOKEN", "wrong")
    result = invoke("from the environment @chunks:2")
    assert result.exit_code == 5
    assert "HTTP 401" in result.stderr


def test_logout_removes_secrets_and_keeps_the_device_id(
    invoke: Invoke, home: Path, stored_only: object
) -> None:
    invoke("auth", "set", "--token", "t", "--signing-secret", "s", "--device-id", DEVICE)
    result = invoke("auth", "logout")
    assert result.exit_code == 0
    assert json.loads((home / CREDENTIALS_FILE).read_text()) == {"device_id": DEVICE}
    assert invoke("hi").exit_code == 4


def test_set_checks_what_it_is_given(invoke: Invoke, stored_only: object) -> None:
    assert invoke("auth", "set", "--device-id", "nothex").exit_code == 2
    assert invoke("auth", "set", "--base-url", "ftp://x").exit_code == 2
    # Without a terminal and without flags there is nothing to prompt on.
    assert invoke("auth", "set", input="").exit_code == 2


def test_a_stored_base_url_is_used(run: Run, env: dict[str, str]) -> None:
    url = env["RAYCAST_BASE_URL"]
    set_ = run("auth", "set", "--base-url", url, extra={"RAYCAST_BASE_URL": ""})
    assert set_.code == 0, set_.stderr
    done = run("--json", "hi @chunks:2", extra={"RAYCAST_BASE_URL": ""})
    assert done.code == 0, done.stderr
    status = run("auth", "status", extra={"RAYCAST_BASE_URL": ""})
    assert f"{url} (file " in status.stdout


def test_set_asks_without_echoing_on_a_terminal(env: dict[str, str], home: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "auth", "set"],
        env={**os.environ, **env},
        encoding="utf-8",
        timeout=15,
    )
    transcript = io.StringIO()
    child.logfile_read = transcript
    try:
        child.expect_exact("Raycast token")
        child.sendline("typed-token")
        child.expect_exact("Signing secret")
        child.sendline("")  # empty: keep what is stored
        child.expect_exact("Device id")
        child.sendline("")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert "Saved the token" in transcript.getvalue()
    assert "typed-token" not in transcript.getvalue()
    assert json.loads((home / CREDENTIALS_FILE).read_text()) == {"token": "typed-token"}
