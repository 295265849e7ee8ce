"""The accounts file (`server.accounts`): what it holds, where it is found, and each mistake in
it refused before the gateway starts, on one line naming the file and the line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from raycast_ai.protocol.signing import is_device_id
from raycast_ai.server.accounts import (
    ACCOUNTS_ENV,
    Account,
    AccountsError,
    accounts_path,
    check_pins,
    load_accounts,
)
from raycast_ai.server.security import hash_key, key_id

DEVICE = "ab" * 32
KEY_ID = "key-0123456789ab"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ACCOUNTS_ENV, raising=False)
    monkeypatch.setenv("RAYCAST_TOKEN_WORK", "token-from-env")
    monkeypatch.delenv("RAYCAST_TOKEN_UNSET", raising=False)


def write(folder: Path, text: str, mode: int = 0o600) -> Path:
    path = folder / "accounts.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_file_of_two_accounts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
# the team's accounts
[[accounts]]
name = "work"
token_env = "RAYCAST_TOKEN_WORK"
device_id = "{DEVICE}"
keys = ["{KEY_ID}"]

[[accounts]]
name = "home"
token = "token-inline"
signing_secret = "secret-inline"
""",
    )
    work, home = load_accounts(path, tmp_path / "data")
    assert (work.name, work.token, work.device_id, work.keys) == (
        "work",
        "token-from-env",
        DEVICE,
        (KEY_ID,),
    )
    assert work.signing_secret is None  # the gateway's own then: the app's, for every account
    assert (home.name, home.token, home.signing_secret, home.keys) == (
        "home",
        "token-inline",
        "secret-inline",
        (),
    )
    assert home.device_id is not None and is_device_id(home.device_id)
    assert "token-inline" not in repr(home) and "secret-inline" not in repr(home)


def test_a_generated_device_id_is_kept_and_never_rotated(tmp_path: Path) -> None:
    path = write(tmp_path, '[[accounts]]\nname = "work"\ntoken_env = "RAYCAST_TOKEN_WORK"\n')
    data = tmp_path / "data"
    [first] = load_accounts(path, data)
    [again] = load_accounts(path, data)
    assert first.device_id == again.device_id
    kept = data / "accounts" / "work" / "device_id"
    assert kept.read_text().strip() == first.device_id
    assert Account("work", "t").with_device_id(data).device_id == first.device_id


ERRORS = [
    pytest.param(
        '[[accounts]]\nname = "work\n', 2, "not valid TOML (Illegal character", id="toml-syntax"
    ),
    pytest.param('[[accounts]]\nname = "work"\n', 1, "has no token", id="no-token"),
    pytest.param('[[accounts]]\ntoken = "t"\n', 1, "no name", id="no-name"),
    pytest.param(
        '[[accounts]]\nname = "a b"\ntoken = "t"\n', 2, "is not one to use", id="bad-name"
    ),
    pytest.param(
        '[[accounts]]\nname = "work"\ntoken = "t1"\n\n[[accounts]]\nname = "Work"\ntoken = "t2"\n',
        6,
        "the name 'Work' is used twice",
        id="duplicate-name",
    ),
    pytest.param(
        '[[accounts]]\nname = "a"\ntoken = "same"\n\n[[accounts]]\nname = "b"\ntoken = "same"\n',
        5,
        "accounts 'a' and 'b' have the same token",
        id="duplicate-token",
    ),
    pytest.param(
        '[[accounts]]\nname = "work"\ntoken = "t"\ndevice_id = "not-a-device"\n',
        4,
        "device_id is not 64 lowercase hexadecimal characters",
        id="bad-device-id",
    ),
    pytest.param(
        f'[[accounts]]\nname = "work"\ntoken = "t"\ndevice_id = "{DEVICE.upper()}"\n',
        4,
        "device_id is not 64 lowercase hexadecimal characters",
        id="upper-case-device-id",
    ),
    pytest.param('[[accounts]]\nname = "work"\ntokn = "t"\n', 3, "unknown field 'tokn'", id="typo"),
    pytest.param(
        '[[accounts]]\nname = "work"\ntoken = "t"\ntoken_env = "RAYCAST_TOKEN_WORK"\n',
        3,
        "give token or token_env, not both",
        id="token-twice",
    ),
    pytest.param(
        '[[accounts]]\nname = "work"\ntoken_env = "RAYCAST_TOKEN_UNSET"\n',
        3,
        "token_env names RAYCAST_TOKEN_UNSET, which is not set",
        id="unset-variable",
    ),
    pytest.param(
        '[[accounts]]\nname = "work"\ntoken = "t"\nkeys = ["sk-the-key-itself"]\n',
        4,
        "never the keys themselves",
        id="a-key-not-its-id",
    ),
    pytest.param('title = "mine"\n', None, "unknown setting 'title'", id="top-level"),
    pytest.param("# nothing yet\n", None, "no [[accounts]]", id="empty"),
]


@pytest.mark.parametrize(("text", "line", "says"), ERRORS)
def test_each_mistake_is_one_line_naming_the_file_and_line(
    tmp_path: Path, text: str, line: int | None, says: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AccountsError) as caught:
        load_accounts(path, tmp_path / "data")
    message = caught.value.message
    where = f"{path}, line {line}" if line is not None else str(path)
    assert message.startswith(where), message
    assert says in message
    assert "\n" not in message
    assert not (tmp_path / "data").exists()  # nothing generated for a file that is refused


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_file_others_can_read_may_not_hold_tokens(tmp_path: Path) -> None:
    path = write(tmp_path, '[[accounts]]\nname = "work"\ntoken = "t"\n', mode=0o644)
    with pytest.raises(AccountsError, match="chmod 600") as caught:
        load_accounts(path, tmp_path / "data")
    assert caught.value.message.startswith(f"{path} holds tokens and other users can read it")
    # Naming variables instead keeps the secrets out of the file: then any mode will do.
    write(tmp_path, '[[accounts]]\nname = "work"\ntoken_env = "RAYCAST_TOKEN_WORK"\n', 0o644)
    assert [a.name for a in load_accounts(path, tmp_path / "data")] == ["work"]


def test_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(AccountsError, match=f"{missing} does not exist: create it"):
        load_accounts(missing)
    with pytest.raises(AccountsError, match=f"Cannot read {tmp_path}: Is a directory"):
        load_accounts(tmp_path)


def test_where_the_file_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "data"
    home.mkdir()
    assert accounts_path(None, home) is None  # no file: the one account of today
    (home / "accounts.toml").write_text("")
    assert accounts_path(None, home) == home / "accounts.toml"
    monkeypatch.setenv(ACCOUNTS_ENV, str(tmp_path / "env.toml"))
    assert accounts_path(None, home) == tmp_path / "env.toml"
    assert accounts_path(tmp_path / "flag.toml", home) == tmp_path / "flag.toml"
    assert load_accounts(None) == ()


def test_a_pin_must_name_one_of_the_gateways_keys() -> None:
    own = key_id(hash_key("sk-one"))
    check_pins([Account("work", "t", keys=(own,))], ["sk-one", "sk-two"])
    with pytest.raises(AccountsError, match=f"pinned to {KEY_ID}, which is none of") as caught:
        check_pins([Account("work", "t", keys=(KEY_ID,))], ["sk-one"])
    assert own in caught.value.message and "sk-one" not in caught.value.message
    with pytest.raises(AccountsError, match="the gateway has no API keys"):
        check_pins([Account("work", "t", keys=(KEY_ID,))], [])


def test_the_readmes_example_is_a_valid_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Several Raycast accounts", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("RAYCAST_TOKEN_TEAM", "token-team")
    team, alice = load_accounts(write(tmp_path, example), tmp_path / "data")
    assert (team.name, team.token, alice.name, alice.keys) == (
        "team",
        "token-team",
        "alice",
        ("key-3f9a0c1e5b7d",),
    )
