"""Several Raycast accounts for one gateway: the `[[accounts]]` file, read and checked whole
before the gateway starts (each problem one line naming the file and, where it can, the line).

    [[accounts]]
    name = "work"
    token_env = "RAYCAST_TOKEN_WORK"      # or token = "..." (then the file must be private)
    device_id = "<64 hex>"                # optional: else generated once and kept
    keys = ["key-0123456789ab"]           # optional: gateway keys pinned to this account

`signing_secret` (or `signing_secret_env`) is optional: it is the Raycast app's, the same for
every account, so the gateway's own (RAYCAST_SIGNING_SECRET, `raycast-ai auth set`) is used.
A device id is never rotated: `<data folder>/accounts/<name>/device_id` keeps a generated one.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from raycast_ai.config import data_dir, ensure_device_id
from raycast_ai.protocol.errors import InvalidRequestError
from raycast_ai.protocol.signing import is_device_id

ACCOUNTS_ENV = "RAYCAST_AI_ACCOUNTS"
ACCOUNTS_FILE = "accounts.toml"
ACCOUNTS_DIR = "accounts"
FIELDS = (
    "name",
    "token",
    "token_env",
    "signing_secret",
    "signing_secret_env",
    "device_id",
    "keys",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_KEY_ID = re.compile(r"key-[0-9a-f]{12}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"\s*\[\[\s*accounts\s*\]\]")
_AT = re.compile(r"\s*\(at line (\d+), column \d+\)")


class AccountsError(InvalidRequestError):
    """The accounts file cannot be used as it is; the message names it, the line and the fix."""


@dataclass(frozen=True, slots=True)
class Account:
    """One Raycast account: its own token, device id (None: the one kept for its name) and
    signing secret (None: the gateway's). `keys`: ids of gateway keys pinned to it."""

    name: str
    token: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    device_id: str | None = None
    keys: tuple[str, ...] = ()

    def with_device_id(self, home: str | os.PathLike[str] | None = None) -> Account:
        """This account with a device id: its own, else the one generated for its name on first
        use and kept in the data folder (`home`), so Raycast always sees the same device."""
        if self.device_id:
            return self
        device_id, _ = ensure_device_id(data_dir(home) / ACCOUNTS_DIR / self.name)
        return replace(self, device_id=device_id)

    def credentials(self) -> dict[str, Any]:
        """`AsyncRaycastClient` arguments; an absent signing secret falls back to the gateway's."""
        options: dict[str, Any] = {"token": self.token, "device_id": self.device_id}
        if self.signing_secret:
            options["signing_secret"] = self.signing_secret
        return options


def accounts_path(
    explicit: str | os.PathLike[str] | None = None, home: str | os.PathLike[str] | None = None
) -> Path | None:
    """The accounts file: `explicit` (`serve --accounts`), else RAYCAST_AI_ACCOUNTS, else
    `accounts.toml` in the data folder when it exists; None means the one account of the
    gateway's own credentials."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ACCOUNTS_ENV):
        return Path(os.environ[ACCOUNTS_ENV])
    default = data_dir(home) / ACCOUNTS_FILE
    return default if default.is_file() else None


def load_accounts(
    path: str | os.PathLike[str] | None, home: str | os.PathLike[str] | None = None
) -> tuple[Account, ...]:
    """The accounts of the file at `path`, each with its device id (generated and kept in the
    data folder `home` when the file gives none); () without a file. Raises AccountsError."""
    if path is None:
        return ()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AccountsError(
            f"{path} does not exist: create it (see 'Several Raycast accounts' in the README), "
            f"or unset {ACCOUNTS_ENV} and leave out --accounts to use one account."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise AccountsError(f"Cannot read {path}: {reason}.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        said = str(exc)
        at = _AT.search(said)
        where = f"{path}, line {at.group(1)}" if at else str(path)
        said = said[: at.start()].rstrip() if at else said
        raise AccountsError(f"{where}: this is not valid TOML ({said}).") from None
    reader = _Reader(path, text)
    accounts = [reader.account(i, entry) for i, entry in enumerate(reader.entries(document))]
    reader.check_unique(accounts)
    if reader.holds_secrets and _shared(path):
        raise AccountsError(
            f"{path} holds tokens and other users can read it: run chmod 600 '{path}', or name "
            "environment variables instead (token_env, signing_secret_env)."
        )
    return tuple(account.with_device_id(home) for account in accounts)


def check_pins(accounts: Sequence[Account], api_keys: Sequence[str]) -> None:
    """Refuses accounts pinned to key ids that are none of the gateway's keys: such a pin would
    silently do nothing."""
    from .security import hash_key, key_id  # it imports Starlette: `server` itself stays light

    known = {key_id(hash_key(key)) for key in api_keys}
    for account in accounts:
        for pinned in account.keys:
            if not known:
                raise AccountsError(
                    f"Account '{account.name}' is pinned to {pinned}, but the gateway has no API "
                    "keys: give it keys (--api-key-file, RAYCAST_AI_API_KEYS) or remove 'keys'."
                )
            if pinned not in known:
                raise AccountsError(
                    f"Account '{account.name}' is pinned to {pinned}, which is none of this "
                    f"gateway's API keys (their ids: {', '.join(sorted(known))}); correct 'keys'."
                )


def _shared(path: Path) -> bool:
    """Whether users other than the owner may read the file (POSIX only)."""
    if os.name != "posix":
        return False
    return bool(stat.S_IMODE(path.stat().st_mode) & (stat.S_IRGRP | stat.S_IROTH))


class _Reader:
    """Checks the entries of one file, naming the line of each problem where it can."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if _HEADER.match(line)]
        self.holds_secrets = False

    def entries(self, document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        other = sorted(set(document) - {"accounts"})
        if other:
            self.fail(None, None, f"unknown setting '{other[0]}': the file holds [[accounts]] only")
        entries = document.get("accounts")
        if not isinstance(entries, list) or not entries:
            self.fail(None, None, "no [[accounts]]: give at least one, with a name and a token")
        if not all(isinstance(entry, dict) for entry in entries):
            self.fail(None, None, "'accounts' must be tables: write each as [[accounts]]")
        return entries

    def account(self, index: int, entry: Mapping[str, Any]) -> Account:
        for given in entry:
            if given not in FIELDS:
                self.fail(index, given, f"unknown field '{given}' (fields: {', '.join(FIELDS)})")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problem = (
                "no name" if name is None else f"the name {str(name)[:40]!r} is not one to use"
            )
            self.fail(
                index,
                "name",
                f"{problem}: give name = \"...\" of letters, digits, '.', '_' or '-' "
                "(at most 64, starting with a letter or digit)",
            )
        token = self.secret(index, entry, "token")
        if token is None:
            self.fail(
                index,
                None,
                f'account \'{name}\' has no token: give token_env = "VARIABLE" or token = "..."',
            )
        secret = self.secret(index, entry, "signing_secret")
        device_id = entry.get("device_id")
        if device_id is not None and not (isinstance(device_id, str) and is_device_id(device_id)):
            self.fail(
                index,
                "device_id",
                f"account '{name}': device_id is not 64 lowercase hexadecimal characters; copy "
                "it exactly, or leave it out to have one generated and kept",
            )
        keys = entry.get("keys", [])
        if not isinstance(keys, list) or not all(
            isinstance(k, str) and _KEY_ID.fullmatch(k) for k in keys
        ):
            self.fail(
                index,
                "keys",
                f"account '{name}': keys takes the ids of gateway keys (key- and 12 hex "
                "digits, as 'raycast-ai serve' prints them), never the keys themselves",
            )
        return Account(name, token, secret, device_id, tuple(dict.fromkeys(keys)))

    def secret(self, index: int, entry: Mapping[str, Any], field: str) -> str | None:
        """`field` given inline, or read from the variable `<field>_env` names."""
        inline, variable = entry.get(field), entry.get(field + "_env")
        if inline is not None and variable is not None:
            self.fail(index, field, f"give {field} or {field}_env, not both")
        if inline is not None:
            if not isinstance(inline, str) or not inline.strip():
                self.fail(index, field, f"{field} must be a non-empty string")
            self.holds_secrets = True
            return inline.strip()
        if variable is None:
            return None
        if not isinstance(variable, str) or not _ENV_NAME.fullmatch(variable):
            self.fail(index, field + "_env", f"{field}_env must name an environment variable")
        value = os.environ.get(variable, "").strip()
        if not value:
            self.fail(index, field + "_env", f"{field}_env names {variable}, which is not set")
        return value

    def check_unique(self, accounts: Sequence[Account]) -> None:
        names: dict[str, int] = {}
        tokens: dict[str, str] = {}
        for index, account in enumerate(accounts):
            folded = account.name.casefold()
            if folded in names:
                self.fail(index, "name", f"the name '{account.name}' is used twice")
            names[folded] = index
            if account.token in tokens:
                self.fail(
                    index,
                    None,
                    f"accounts '{tokens[account.token]}' and '{account.name}' have the same "
                    "token: one account listed twice would be used at twice its rate",
                )
            tokens[account.token] = account.name

    def fail(self, index: int | None, field: str | None, problem: str) -> NoReturn:
        line = self.line(index, field)
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        if index is not None and line is None:
            problem = f"account {index + 1}: {problem}"
        raise AccountsError(f"{where}: {problem}.")

    def line(self, index: int | None, field: str | None) -> int | None:
        """The 1-based line of account `index`'s `field` (else of its header), when the file
        writes accounts as [[accounts]] tables."""
        if index is None or index >= len(self.headers):
            return None
        start = self.headers[index]
        end = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines)
        if field is not None:
            assignment = re.compile(rf"\s*{re.escape(field)}\s*=")
            for number in range(start + 1, end):
                if assignment.match(self.lines[number]):
                    return number + 1
        return start + 1
