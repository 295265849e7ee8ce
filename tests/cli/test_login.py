"""`raycast-ai auth login / import / status / logout` and `raycast-ai credits`, end to end against
the emulator: the sign-in address opened or printed, the final address pasted back through stdin,
tokens stored 0600 and renewed, tokens imported from a (fake) Keychain and the legacy JSON, and
the quota errors as one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from raycast_ai.config import CREDENTIALS_FILE
from raycast_ai.emulator import EMULATOR_TOKEN
from raycast_ai.emulator.config import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.oauth import TOKEN_PATH
from support_login import final_url

from .conftest import _CLEARED, Invoke, Run

CLIENT = "my-own-client-id"


@pytest.fixture
def login_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The emulator as both Raycast hosts, a client id, and no token in the environment."""
    monkeypatch.delenv("RAYCAST_TOKEN")
    values = {
        **env,
        "RAYCAST_TOKEN": "",
        "RAYCAST_WEB_URL": env["RAYCAST_BASE_URL"],
        "RAYCAST_CLIENT_ID": CLIENT,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def environ(values: dict[str, str], **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    return {**base, **values, **extra}


def login(values: dict[str, str], *args: str, **extra: str) -> tuple[int, str, str, str]:
    """`auth login --no-browser ARGS`: reads the printed address, lets the emulator approve it
    and pastes the final address into stdin. Returns the code, stdout, stderr and the address."""
    child = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", "auth", "login", "--no-browser", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ(values, **extra),
    )
    assert child.stdout is not None
    url = child.stdout.readline().strip()
    try:
        out, err = child.communicate(final_url(url) + "\n", timeout=20)
    finally:
        child.kill()
    return child.returncode, out, err, url


def stored(home: Path) -> dict[str, object]:
    path = home / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    payload: dict[str, object] = json.loads(path.read_text())
    return payload


def test_login_with_a_pasted_address_then_ask_status_and_logout(
    login_env: dict[str, str], home: Path, run: Run, emulator: EmulatorServer
) -> None:
    code, out, err, url = login(login_env)
    assert code == 0, err
    assert url.startswith(login_env["RAYCAST_WEB_URL"] + "/oauth/authorize?client_id=" + CLIENT)
    assert "code_challenge_method=S256" in url
    assert "Open this address in a browser" in err
    assert "Signed in as Emulator User (user@example.com)" in out
    saved = stored(home)
    token = str(saved["token"])
    assert token.startswith("rca_")
    assert saved["refresh_token"] and saved["oauth_client_id"] == CLIENT
    assert saved["token_origin"] == "login"
    assert isinstance(saved["expires_at"], float)
    assert token not in out + err

    asked = run("hello @chunks:2", extra={"RAYCAST_TOKEN": ""})
    assert asked.code == 0, asked.stderr
    assert asked.stdout.strip()

    status = run("auth", "status", extra={"RAYCAST_TOKEN": ""})
    assert status.code == 0, status.stderr
    lines = dict(line.split("  ", 1) for line in status.stdout.splitlines())
    assert lines["token"].strip() == f"set (file {home / CREDENTIALS_FILE})"
    assert lines["token from"].strip() == "raycast-ai auth login"
    assert "expires " in lines["token expiry"] and "renewed automatically" in lines["token expiry"]
    assert lines["signed in as"].strip() == "Emulator User (user@example.com)"
    assert token not in status.stdout + status.stderr
    assert str(saved["refresh_token"]) not in status.stdout + status.stderr

    out_ = run("auth", "logout", extra={"RAYCAST_TOKEN": ""})
    assert out_.code == 0
    left = stored(home)
    assert not {"token", "refresh_token", "expires_at", "oauth_client_id"} & set(left)
    assert run("hello", extra={"RAYCAST_TOKEN": ""}).code == 4


def test_login_opens_the_browser_unless_told_not_to(
    login_env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{seen}"\n')
    browser.chmod(0o755)
    child = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", "auth", "login"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ(login_env, BROWSER=str(browser)),
    )
    try:
        assert child.stderr is not None
        assert "Opened the sign-in page" in child.stderr.readline()
        opened = seen.read_text()
        out, err = child.communicate(final_url(opened) + "\n", timeout=20)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "Signed in" in out
    assert opened not in out  # printed only when no browser opens it
    assert str(stored(home)["token"]).startswith("rca_")


def test_a_foreign_address_is_refused_and_nothing_stored(
    login_env: dict[str, str], home: Path, run: Run
) -> None:
    pasted = "https://www.raycast.com/oauth-redirect?scheme=com.raycast&code=abc&state=other\n"
    done = run("auth", "login", "--no-browser", input=pasted)
    assert done.code == 5
    assert "does not belong to this sign-in" in done.stderr
    assert not (home / CREDENTIALS_FILE).exists()


def test_without_a_client_id_it_says_how_to_give_one(
    login_env: dict[str, str], home: Path, run: Run
) -> None:
    done = run("auth", "login", "--no-browser", extra={"RAYCAST_CLIENT_ID": ""})
    assert done.code == 3
    assert done.stdout == ""
    for hint in ("--client-id", "RAYCAST_CLIENT_ID", "config.json", "does not ship"):
        assert hint in done.stderr
    # The flag, and config.json's "client_id", are the other ways to give it.
    (home).mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps({"client_id": "from-config"}))
    code, _, err, url = login(login_env, RAYCAST_CLIENT_ID="")
    assert code == 0, err
    assert "client_id=from-config&" in url
    code, _, err, url = login(login_env, "--client-id", "from-flag")
    assert code == 0, err
    assert "client_id=from-flag&" in url
    assert stored(home)["oauth_client_id"] == "from-flag"


def test_an_expired_sign_in_is_renewed_then_sign_in_again(
    login_env: dict[str, str], home: Path, run: Run, emulator: EmulatorServer
) -> None:
    code, _, err, _ = login(login_env)
    assert code == 0, err
    first = stored(home)
    emulator.app.state.oauth.expire(str(first["token"]))  # Raycast answers 401 now
    before = len(emulator.recorder)
    done = run("hello @chunks:2", extra={"RAYCAST_TOKEN": ""})
    assert done.code == 0, done.stderr
    second = stored(home)
    assert second["token"] != first["token"]
    assert second["refresh_token"] == first["refresh_token"]
    grants = [r for r in emulator.recorder.requests[before:] if r.path == TOKEN_PATH]
    assert len(grants) == 1

    emulator.app.state.oauth.expire(str(second["token"]))
    emulator.app.state.oauth.revoke_refresh(str(second["refresh_token"]))
    failed = run("hello @chunks:2", extra={"RAYCAST_TOKEN": ""})
    assert failed.code == 5
    assert failed.stderr.count("\n") == 1
    assert "Sign in again with 'raycast-ai auth login'" in failed.stderr
    assert stored(home) == second  # nothing lost


@pytest.fixture
def fake_security(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `security` first on PATH that answers as macOS does for the Raycast 1.x item."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    reply = tmp_path / "keychain.json"
    script = bin_dir / "security"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$*" = "find-generic-password -s Raycast -a raycast-store_credentials -w" ] '
        f'&& [ -f "{reply}" ]; then cat "{reply}"; exit 0; fi\n'
        'echo "security: SecKeychainSearchCopyNext: The specified item could not be found '
        'in the keychain." >&2\nexit 44\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    return reply


def test_import_from_the_keychain(
    login_env: dict[str, str], invoke: Invoke, home: Path, fake_security: Path
) -> None:
    item = {"oauth": {"access_token": EMULATOR_TOKEN, "token_type": "Bearer"}, "user": {}}
    fake_security.write_text(json.dumps(item))
    result = invoke("auth", "import")
    assert result.exit_code == 0, result.stderr
    assert "macOS Keychain" in result.stdout and "as Emulator User" in result.stdout
    saved = stored(home)
    assert saved == {"token": EMULATOR_TOKEN, "token_origin": "keychain"}
    status = invoke("auth", "status")
    assert "imported from the macOS Keychain (Raycast 1.x)" in status.stdout
    assert EMULATOR_TOKEN not in status.stdout


def test_import_falls_back_to_the_legacy_config(
    login_env: dict[str, str], invoke: Invoke, home: Path, fake_security: Path, tmp_path: Path
) -> None:
    legacy = tmp_path / "user" / ".config" / "raycast" / "config.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"accessToken": EMULATOR_TOKEN}))
    # A stale sign-in is replaced whole: no refresh token of another login is kept.
    (home).mkdir(mode=0o700, parents=True)
    (home / CREDENTIALS_FILE).write_text(json.dumps({"token": "old", "refresh_token": "r"}))
    result = invoke("auth", "import")
    assert result.exit_code == 0, result.stderr
    assert "~/.config/raycast/config.json" in result.stdout
    assert stored(home) == {"token": EMULATOR_TOKEN, "token_origin": "legacy-config"}


def test_import_with_nothing_to_import_says_where_it_looked(
    login_env: dict[str, str], invoke: Invoke, home: Path, fake_security: Path
) -> None:
    fake_security.write_text(json.dumps({"user": {"email": "x"}}))
    result = invoke("auth", "import")
    assert result.exit_code == 4
    assert "holds no oauth.access_token" in result.stderr
    assert ".config/raycast/config.json" in result.stderr
    assert "raycast-ai auth login" in result.stderr
    assert invoke("auth", "import", "--from", "keychain").exit_code == 4
    assert not (home / CREDENTIALS_FILE).exists()


def test_credits_as_a_sentence_and_as_json(invoke: Invoke) -> None:
    human = invoke("credits")
    assert human.exit_code == 0, human.stderr
    assert human.stdout == "125 of 500 credits left (25%), Pro plan, renews 2026-10-18.\n"
    as_json = invoke("credits", "--json")
    assert json.loads(as_json.stdout) == {
        "remaining": 125,
        "total": 500,
        "renews_at": "2026-10-18T00:00:00+00:00",
        "plan": "pro",
        "status": "active",
        "can_top_up": True,
        "can_upgrade_plan": True,
    }


@pytest.mark.parametrize(
    ("profile", "line", "remaining"),
    [
        (
            "numbers",
            "2,425.66 of 3,000 credits left (81%), Pro+ plan, renews 2026-10-18.",
            2425.664,
        ),
        ("exhausted", "0 of 500 credits left (0%), Pro plan, renews 2026-10-18.", 0),
    ],
)
def test_credits_with_number_amounts_and_none_left(
    env: dict[str, str],
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    profile: str,
    line: str,
    remaining: float,
) -> None:
    with EmulatorServer(EmulatorConfig(credits=profile)) as server:
        monkeypatch.setenv("RAYCAST_BASE_URL", server.base_url)
        human = invoke("credits")
        as_json = invoke("credits", "--json")
    assert human.exit_code == 0, human.stderr
    assert human.stdout == line + "\n"
    assert json.loads(as_json.stdout)["remaining"] == remaining
    if profile == "exhausted":
        assert "No credits left: top up in Raycast" in human.stderr


def test_credits_without_a_token_says_how_to_sign_in(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAYCAST_TOKEN")
    result = invoke("credits")
    assert result.exit_code == 4
    assert "auth" in result.stderr


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (
            "free_trial",
            "free trial limit of 25 requests per hour is reached; try again in 7 minutes",
        ),
        ("credits_error", "Your Raycast AI credits are used up"),
    ],
)
def test_quota_errors_are_one_friendly_line(invoke: Invoke, fault: str, says: str) -> None:
    result = invoke(f"hello @fault:{fault}")
    assert result.exit_code == 8
    assert result.stderr.count("\n") == 1
    assert says in result.stderr


def test_a_refused_code_says_to_start_again(login_env: dict[str, str], home: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "raycast_ai", "auth", "login", "--no-browser"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ(login_env),
    )
    assert child.stdout is not None
    state = parse_qs(urlsplit(child.stdout.readline()).query)["state"][0]
    try:
        _, err = child.communicate(f"https://x.test/cb?code=made-up&state={state}\n", timeout=20)
    finally:
        child.kill()
    assert child.returncode == 5
    assert "invalid_grant" in err and "run 'raycast-ai auth login' again" in err
    assert not (home / CREDENTIALS_FILE).exists()
