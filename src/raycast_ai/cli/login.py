"""`raycast-ai auth login` (OAuth 2.0 with PKCE, the code pasted back) and `auth import` (a token
the installed Raycast app keeps), and the sign-in lines of `auth status`.

The authorize page is RAYCAST_WEB_URL's (default https://www.raycast.com), the token endpoint
RAYCAST_BASE_URL's. The client id is the user's: raycast-ai ships none.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from raycast_ai.config import CREDENTIALS_FILE, ENV, Settings, load_settings, read_json, update_json

from . import runtime

if TYPE_CHECKING:
    from raycast_ai.protocol.oauth import Tokens

CLIENT_ID_ENV = "RAYCAST_CLIENT_ID"
WEB_URL_ENV = "RAYCAST_WEB_URL"
KEYCHAIN_SERVICE = "Raycast"
KEYCHAIN_ACCOUNT = "raycast-store_credentials"
LEGACY_CONFIG = Path(".config") / "raycast" / "config.json"
ORIGINS = {
    "login": "raycast-ai auth login",
    "keychain": "imported from the macOS Keychain (Raycast 1.x)",
    "legacy-config": "imported from ~/.config/raycast/config.json",
}


def client_id_of(flag: str | None) -> str:
    """--client-id, else RAYCAST_CLIENT_ID, else config.json's "client_id"."""
    from raycast_ai.protocol.errors import InvalidRequestError

    stored = read_json(runtime.config_path()).get("client_id")
    value = flag or os.environ.get(CLIENT_ID_ENV) or (stored if isinstance(stored, str) else "")
    if not value.strip():
        raise InvalidRequestError(
            "No OAuth client id: raycast-ai does not ship one, since it is the Raycast app's own. "
            f'Pass --client-id ID, set {CLIENT_ID_ENV}, or add "client_id" to '
            f"{runtime.config_path()}."
        )
    return value.strip()


@click.command()
@click.option("--client-id", help=f"The OAuth client id (default: {CLIENT_ID_ENV}).")
@click.option("--no-browser", is_flag=True, help="Print the sign-in address instead of opening it.")
@click.option(
    "--redirect-uri",
    help="Where Raycast sends the browser back (default: Raycast's own redirect page).",
)
def login(client_id: str | None, no_browser: bool, redirect_uri: str | None) -> None:
    """Sign in to Raycast in the browser (tokens kept and renewed).

    Opens Raycast's sign-in page; after you approve, copy the address the browser ends on
    (it carries code=... and state=...) and paste it here, or pipe it in. The client id is
    yours to supply: --client-id, RAYCAST_CLIENT_ID or "client_id" in config.json.
    """
    from raycast_ai.protocol import oauth

    chosen = client_id_of(client_id)
    settings = load_settings()
    web_url = os.environ.get(WEB_URL_ENV) or oauth.DEFAULT_WEB_URL
    if not web_url.startswith(("http://", "https://")):
        raise click.BadParameter("it must start with http:// or https://.", param_hint=WEB_URL_ENV)
    started = oauth.authorization(
        chosen, web_url=web_url, redirect_uri=redirect_uri or oauth.REDIRECT_URI
    )
    if no_browser or not _open(started.url):
        runtime.err("Open this address in a browser and approve the sign-in:")
        click.echo(started.url)
    else:
        runtime.err(f"Opened the sign-in page in your browser:\n  {started.url}")
    sys.stdout.flush()
    pasted = _paste()
    code = oauth.code_from_redirect(pasted, started.state)
    tokens = _exchange(settings, oauth.code_request(started, code))
    path = settings.home / CREDENTIALS_FILE
    update_json(path, **oauth.stored_fields(tokens, chosen), token_origin="login")
    expiry = _when(tokens.expires_at) if tokens.expires_at else "no expiry given"
    click.echo(f"Signed in{_who(tokens.access_token)}. Saved to {path} ({expiry}).")
    _env_note()


def _open(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _paste() -> str:
    if runtime.stdin_is_tty():
        return str(click.prompt("Paste the address the browser ended on", prompt_suffix=": "))
    line = sys.stdin.readline()
    if not line.strip():
        raise click.UsageError(
            "Nothing was pasted: pipe in (or type) the address the browser ended on."
        )
    return line


def _exchange(settings: Settings, fields: Mapping[str, str]) -> Tokens:
    import httpx2

    from raycast_ai.protocol import oauth
    from raycast_ai.protocol.errors import APIConnectionError, AuthenticationError
    from raycast_ai.protocol.request import USER_AGENT
    from raycast_ai.transport.tls import ssl_context

    url = settings.base_url + oauth.TOKEN_PATH
    headers = {**oauth.FORM_HEADERS, "User-Agent": USER_AGENT}
    try:
        with httpx2.Client(verify=ssl_context(True, settings.ca_bundle), timeout=30.0) as http:
            response = http.post(url, content=oauth.form_body(fields), headers=headers)
    except httpx2.TransportError as exc:
        raise APIConnectionError(
            f"Could not reach Raycast's token endpoint at {url} ({type(exc).__name__}). "
            "Check the network or RAYCAST_BASE_URL, then sign in again."
        ) from None
    try:
        return oauth.parse_token_reply(response.status_code, response.content, time.time())
    except AuthenticationError as exc:
        raise AuthenticationError(
            f"{exc.message.rstrip('.')}. Check the client id, then run 'raycast-ai auth login' "
            "again (a code works once, for a few minutes).",
            type=exc.type,
        ) from None


def _who(token: str) -> str:
    """ " as NAME (EMAIL)" from /api/v1/me, or nothing when it cannot be read."""
    profile = _profile(token)
    if not isinstance(profile, dict):
        return ""
    name, email = profile.get("name") or profile.get("username"), profile.get("email")
    if name and email:
        return f" as {name} ({email})"
    return f" as {name or email}" if name or email else ""


def _profile(token: str | None) -> dict[str, Any] | str:
    """The /api/v1/me profile, or why it could not be read."""
    from raycast_ai.client import RaycastClient, Timeout
    from raycast_ai.protocol.errors import RaycastError

    try:
        with RaycastClient(
            token=token, timeout=Timeout(connect=5.0, read=10.0), max_retries=0
        ) as client:
            return client.account()
    except RaycastError as exc:
        return exc.message.split(". ")[0].rstrip(".")


def _when(expires_at: float) -> str:
    moment = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = expires_at - time.time()
    if left <= 0:
        return f"expired {moment}"
    if left < 3600:
        return f"expires {moment}, in {max(int(left // 60), 1)} min"
    return f"expires {moment}"


def _env_note() -> None:
    if os.environ.get(ENV["token"]):
        runtime.err(f"note: {ENV['token']} is set in the environment and wins over the file.")


class NothingToImport(click.ClickException):
    exit_code = 4  # as MissingAuthError: no token


@click.command(name="import")
@click.option(
    "--from",
    "source",
    type=click.Choice(["auto", "keychain", "config"]),
    default="auto",
    show_default=True,
    help="keychain: the macOS Keychain item of Raycast 1.x; config: ~/.config/raycast/"
    "config.json (older versions); auto: the first that has a token.",
)
def import_(source: str) -> None:
    """Use the token an installed Raycast 1.x app keeps.

    Reads the macOS Keychain item with the `security` tool, else the legacy JSON. Raycast 2.x
    keeps its token in an encrypted database that raycast-ai does not open: use 'raycast-ai
    auth login' there.
    """
    found: tuple[str, str] | None = None
    tried: list[str] = []
    if source in ("auto", "keychain"):
        found = _from_keychain(tried)
    if found is None and source in ("auto", "config"):
        found = _from_legacy_config(tried)
    if found is None:
        raise NothingToImport(
            "No Raycast token to import: "
            + "; ".join(tried)
            + ". With Raycast 2.x run 'raycast-ai auth login' instead."
        )
    token, origin = found
    settings = load_settings()
    path = settings.home / CREDENTIALS_FILE
    cleared = dict.fromkeys(("refresh_token", "expires_at", "token_type", "oauth_client_id"))
    update_json(path, **cleared, token=token, token_origin=origin)
    click.echo(f"Imported the token ({ORIGINS[origin]}){_who(token)}. Saved to {path}.")
    _env_note()


def _from_keychain(tried: list[str]) -> tuple[str, str] | None:
    import subprocess

    security = shutil.which("security")
    if security is None:
        tried.append("no 'security' tool (the macOS Keychain is only on macOS)")
        return None
    try:
        command = ["find-generic-password", "-s", KEYCHAIN_SERVICE, "-a", KEYCHAIN_ACCOUNT, "-w"]
        done = subprocess.run(
            [security, *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        tried.append(f"the Keychain could not be read ({type(exc).__name__})")
        return None
    if done.returncode != 0:
        tried.append(
            f"no Keychain item service '{KEYCHAIN_SERVICE}', account '{KEYCHAIN_ACCOUNT}' "
            "(Raycast 1.x writes it)"
        )
        return None
    token = _access_token(done.stdout)
    if token is None:
        tried.append("the Keychain item holds no oauth.access_token")
        return None
    return token, "keychain"


def _access_token(text: str) -> str | None:
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    oauth = payload.get("oauth") if isinstance(payload, dict) else None
    token = oauth.get("access_token") if isinstance(oauth, dict) else None
    return token if isinstance(token, str) and token else None


def _from_legacy_config(tried: list[str]) -> tuple[str, str] | None:
    path = Path.home() / LEGACY_CONFIG
    stored = read_json(path)
    for key in ("token", "accessToken"):
        value = stored.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip(), "legacy-config"
    tried.append(f"no token in {path}")
    return None


def status_lines(settings: Settings) -> list[tuple[str, str]]:
    """Who is signed in (from /api/v1/me), where the token came from, when it expires."""
    if not settings.token:
        return []
    path = settings.home / CREDENTIALS_FILE
    lines: list[tuple[str, str]] = []
    stored = read_json(path)
    if settings.sources.get("token") == f"file ({path})" and stored.get("token") == settings.token:
        origin = stored.get("token_origin")
        if isinstance(origin, str) and origin in ORIGINS:
            lines.append(("token from", ORIGINS[origin]))
        expires_at = stored.get("expires_at")
        if isinstance(expires_at, int | float):
            from raycast_ai.protocol.oauth import expires_at_seconds

            renewal = "renewed automatically" if stored.get("refresh_token") else "no refresh"
            lines.append(("token expiry", f"{_when(expires_at_seconds(expires_at))} ({renewal})"))
    profile = _profile(None)
    if isinstance(profile, dict):
        name = profile.get("name") or profile.get("username") or "?"
        email = profile.get("email")
        lines.append(("signed in as", f"{name} ({email})" if email else str(name)))
    else:
        lines.append(("signed in as", f"unknown: {profile}"))
    return lines
