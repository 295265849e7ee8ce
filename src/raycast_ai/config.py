"""Settings resolved once: explicit argument > environment variable > stored file > default.

The data folder (RAYCAST_AI_HOME, else the platform's user data folder) holds `credentials.json`
(token, signing secret, device id), `config.json` (preferences) and the generated `device_id`.
Files are written atomically with mode 0600 in a 0700 folder, never chmod-ed after the fact.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .protocol.errors import InvalidRequestError
from .protocol.signing import is_device_id, new_device_id

DEFAULT_BASE_URL = "https://backend.raycast.com"
CREDENTIALS_FILE = "credentials.json"
CONFIG_FILE = "config.json"
DEVICE_ID_FILE = "device_id"

ENV = {
    "token": "RAYCAST_TOKEN",
    "signing_secret": "RAYCAST_SIGNING_SECRET",
    "device_id": "RAYCAST_DEVICE_ID",
    "base_url": "RAYCAST_BASE_URL",
    "ca_bundle": "RAYCAST_CA_BUNDLE",
}
# Honoured after RAYCAST_CA_BUNDLE, as OpenSSL-based tools do.
SSL_CERT_FILE_ENV = "SSL_CERT_FILE"


def data_dir(home: str | os.PathLike[str] | None = None) -> Path:
    if home:
        return Path(home)
    env = os.environ.get("RAYCAST_AI_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("raycast-ai", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    base_url: str
    home: Path
    device_id: str | None
    token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    sources: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: str | None = None

    def with_device_id(self) -> Settings:
        """These settings with a device id, generating and keeping one on first use."""
        if self.device_id:
            return self
        device_id, source = ensure_device_id(self.home)
        return replace(self, device_id=device_id, sources={**self.sources, "device_id": source})


def load_settings(
    *,
    token: str | None = None,
    signing_secret: str | None = None,
    device_id: str | None = None,
    base_url: str | None = None,
    home: str | os.PathLike[str] | None = None,
    ca_bundle: str | None = None,
) -> Settings:
    """`ca_bundle` (a PEM file of trusted CAs, for a TLS-inspecting proxy): argument, else
    RAYCAST_CA_BUNDLE, else the stored file's, else SSL_CERT_FILE, else the default CAs."""
    folder = data_dir(home)
    stored = read_json(folder / CREDENTIALS_FILE)
    explicit = {
        "token": token,
        "signing_secret": signing_secret,
        "device_id": device_id,
        "base_url": base_url,
        "ca_bundle": ca_bundle,
    }
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for key, value in explicit.items():
        env_value = os.environ.get(ENV[key])
        stored_value = stored.get(key)
        if value:
            values[key], sources[key] = value, "argument"
        elif env_value:
            values[key], sources[key] = env_value, f"environment ({ENV[key]})"
        elif isinstance(stored_value, str) and stored_value:
            values[key], sources[key] = stored_value, f"file ({folder / CREDENTIALS_FILE})"
        else:
            values[key] = None
    if not values["ca_bundle"] and os.environ.get(SSL_CERT_FILE_ENV):
        values["ca_bundle"] = os.environ[SSL_CERT_FILE_ENV]
        sources["ca_bundle"] = f"environment ({SSL_CERT_FILE_ENV})"
    url = (values["base_url"] or DEFAULT_BASE_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidRequestError(f"The base URL must start with http:// or https://, not {url!r}.")
    return Settings(
        base_url=url,
        home=folder,
        device_id=values["device_id"],
        token=values["token"],
        signing_secret=values["signing_secret"],
        sources=sources,
        ca_bundle=values["ca_bundle"],
    )


def ensure_device_id(home: Path) -> tuple[str, str]:
    path = home / DEVICE_ID_FILE
    try:
        existing = path.read_text().strip()
    except OSError:
        existing = ""
    if is_device_id(existing):
        return existing, f"file ({path})"
    if existing:  # Raycast knows this device by it: a damaged one is not replaced unasked
        raise InvalidRequestError(
            f"{path} does not hold a device id (64 hexadecimal characters). Correct it, or "
            "delete it to have a new one generated; nothing was changed."
        )
    device_id = new_device_id()
    try:
        write_private(path, device_id + "\n")
    except OSError:
        return device_id, "generated (not saved: the data folder is not writable)"
    return device_id, f"generated, saved in {path}"


# What re-creates each stored file, for the message that says it is damaged.
REDO = {
    CREDENTIALS_FILE: "run 'raycast-ai auth set' to store the credentials again",
    CONFIG_FILE: "set the default model and aliases again ('raycast-ai models default ID', "
    "'raycast-ai aliases set NAME ID')",
}


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object stored at `path`; {} when there is no file.

    A file that cannot be read or is not a JSON object raises InvalidRequestError naming it,
    the line, and the fix: ignoring it would silently drop the user's token or preferences,
    and the next write would overwrite it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise InvalidRequestError(f"Cannot read {path}: {reason}. {_fix(path)}") from None
    try:
        payload = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise InvalidRequestError(f"{path} is not valid JSON ({where}). {_fix(path)}") from None
    if not isinstance(payload, dict):
        raise InvalidRequestError(f"{path} holds no JSON object. {_fix(path)}")
    return payload


def _fix(path: Path) -> str:
    redo = REDO.get(path.name, "it is written again when needed")
    return (
        f"Correct it by hand, or move it aside (mv '{path}' '{path}.bak') and {redo}; "
        "nothing was changed."
    )


def private_dir(path: Path) -> Path:
    """Creates `path` and any missing parents 0700, set explicitly: `mkdir(mode=...)` is masked
    by the umask and leaves parents to it (0777 under umask 000). Folders that exist keep their
    mode."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text`, created 0600 inside a 0700 folder."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    write_private(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def update_json(path: Path, **changes: Any) -> dict[str, Any]:
    """Set (or, with None, remove) keys of a stored JSON object."""
    payload = read_json(path)
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    write_json(path, payload)
    return payload
