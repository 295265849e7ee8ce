"""Settings precedence, private files and the persisted device id."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from raycast_ai import InvalidRequestError
from raycast_ai.config import (
    CREDENTIALS_FILE,
    DEFAULT_BASE_URL,
    ensure_device_id,
    load_settings,
    write_json,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "RAYCAST_TOKEN",
        "RAYCAST_SIGNING_SECRET",
        "RAYCAST_DEVICE_ID",
        "RAYCAST_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAYCAST_AI_HOME", str(tmp_path / "home"))


def test_argument_beats_environment_beats_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    write_json(home / CREDENTIALS_FILE, {"token": "from-file", "signing_secret": "file-secret"})
    assert load_settings().token == "from-file"
    monkeypatch.setenv("RAYCAST_TOKEN", "from-env")
    settings = load_settings()
    assert settings.token == "from-env"
    assert settings.signing_secret == "file-secret"
    assert settings.sources["token"] == "environment (RAYCAST_TOKEN)"
    assert settings.sources["signing_secret"].startswith("file (")
    assert load_settings(token="from-arg").sources["token"] == "argument"
    assert load_settings().base_url == DEFAULT_BASE_URL


def test_secrets_never_appear_in_repr() -> None:
    settings = load_settings(token="tok-abc", signing_secret="sec-xyz")
    assert "tok-abc" not in repr(settings) and "sec-xyz" not in repr(settings)


def test_private_files_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "credentials.json"
    write_json(path, {"token": "t"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_device_id_is_generated_once_and_kept(tmp_path: Path) -> None:
    first, source = ensure_device_id(tmp_path)
    assert len(first) == 64 and int(first, 16) >= 0
    assert source.startswith("generated")
    assert ensure_device_id(tmp_path)[0] == first
    assert load_settings(home=tmp_path).with_device_id().device_id == first


def test_explicit_device_id_is_used_as_given(tmp_path: Path) -> None:
    settings = load_settings(device_id="d" * 64, home=tmp_path).with_device_id()
    assert settings.device_id == "d" * 64
    assert not (tmp_path / "device_id").exists()


def test_bad_base_url_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequestError, match="http:// or https://"):
        load_settings(base_url="backend.raycast.com")


def test_a_damaged_credentials_file_is_named_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAYCAST_TOKEN", raising=False)
    path = tmp_path / "credentials.json"
    path.write_text('{\n  "token": "t",\n  "signing_secret": "s"\n  "device_id": 1\n}\n')
    with pytest.raises(InvalidRequestError) as caught:
        load_settings(home=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not valid JSON (line 4, column 3: ")
    assert "raycast-ai auth set" in message
    path.write_text("[]")
    with pytest.raises(InvalidRequestError, match="holds no JSON object"):
        load_settings(home=tmp_path)
    path.write_text("")  # an empty file is an empty object
    assert load_settings(home=tmp_path).token is None


def test_a_damaged_device_id_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "device_id"
    path.write_text("not a device id\n")
    with pytest.raises(InvalidRequestError, match="does not hold a device id"):
        load_settings(home=tmp_path).with_device_id()
    assert path.read_text() == "not a device id\n"
