"""The sign-in endpoints: `GET /oauth/authorize` (approves at once and redirects with a code) and
`POST /oauth/token` (form-encoded `authorization_code` with PKCE S256, and `refresh_token`),
and the registry of the expiring `rca_` tokens they issue.

Errors are Doorkeeper's `{"error", "error_description"}` with HTTP 400 (401 for an unknown
client), a guess: Raycast's error body was never recorded.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from raycast_ai.protocol.oauth import SCOPE, s256
from raycast_ai.protocol.signing import encode_json

from .delivery import Plan, json_plan

CODE_TTL = 600.0
ROTATIONS = ("keep", "rotate", "omit")


@dataclass(slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float


@dataclass(slots=True)
class _Access:
    client_id: str
    expires_at: float


class OAuthTokens:
    """What the emulator issued: codes, access tokens (valid until their expiry) and refresh
    tokens (valid until used under rotation, or revoked)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> client id

    def new_code(self, client_id: str, redirect_uri: str, challenge: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, challenge, time.time() + CODE_TTL)
        return code

    def take_code(self, code: str) -> _Code | None:
        """The code's grant, once: a code is spent by its first exchange, right or wrong."""
        with self._lock:
            grant = self._codes.pop(code, None)
        return grant if grant is not None and grant.expires_at > time.time() else None

    def issue(self, client_id: str, ttl: float, refresh: str | None) -> tuple[str, str]:
        access = "rca_" + secrets.token_hex(24)
        refresh = refresh or "rcr_" + secrets.token_hex(24)
        with self._lock:
            self._access[access] = _Access(client_id, time.time() + ttl)
            self._refresh[refresh] = client_id
        return access, refresh

    def refresh_client(self, refresh: str) -> str | None:
        with self._lock:
            return self._refresh.get(refresh)

    def revoke_refresh(self, refresh: str) -> None:
        with self._lock:
            self._refresh.pop(refresh, None)

    def check(self, token: str) -> str | None:
        """None for a live access token, else why it is refused."""
        with self._lock:
            access = self._access.get(token)
        if access is None:
            return "Invalid access token."
        if access.expires_at <= time.time():
            return "The access token has expired; refresh it or sign in again."
        return None

    def expire(self, token: str | None = None) -> None:
        """Expires one access token, or all of them (for tests of the refresh path)."""
        with self._lock:
            for key, access in self._access.items():
                if token is None or key == token:
                    access.expires_at = 0.0

    def revoke_all_refresh(self) -> None:
        with self._lock:
            self._refresh.clear()


def _oauth_error(status: int, error: str, description: str) -> Plan:
    body = encode_json({"error": error, "error_description": description})
    return json_plan(status, body, f"rejected:{error}")


def authorize_plan(query: str, tokens: OAuthTokens, client_id: str | None) -> Plan:
    """Checks the parameters of 9.3 and answers 302 to the redirect URI with code and state."""
    params = {k: v[0] for k, v in parse_qs(query).items()}
    missing = [
        name
        for name in (
            "client_id",
            "redirect_uri",
            "response_type",
            "code_challenge",
            "code_challenge_method",
            "state",
        )
        if not params.get(name)
    ]
    if missing:
        return _oauth_error(400, "invalid_request", f"Missing {', '.join(missing)}.")
    if client_id is not None and params["client_id"] != client_id:
        return _oauth_error(401, "invalid_client", "Unknown client id.")
    if params["response_type"] != "code":
        return _oauth_error(400, "unsupported_response_type", "Only response_type=code.")
    if params["code_challenge_method"] != "S256":
        return _oauth_error(400, "invalid_request", "Only code_challenge_method=S256.")
    if params.get("scope", SCOPE) != SCOPE:
        return _oauth_error(400, "invalid_scope", f"The scope is '{SCOPE}'.")
    redirect = params["redirect_uri"]
    code = tokens.new_code(params["client_id"], redirect, params["code_challenge"])
    parts = urlsplit(redirect)
    extra = urlencode({"code": code, "state": params["state"]})
    location = urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
    shown = escape(location)
    html = (
        "<!doctype html><title>Signed in</title><p>Signed in to the Raycast emulator. "
        f'Copy this address into raycast-ai: <a href="{shown}">{shown}</a></p>'
    ).encode()
    head = (
        (b"location", location.encode()),
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(html)).encode()),
    )
    return Plan(302, head, (html,), "completed")


def token_plan(
    headers: Mapping[str, str],
    body: bytes,
    tokens: OAuthTokens,
    *,
    client_id: str | None,
    ttl: float,
    rotation: str,
) -> Plan:
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(
            400, "invalid_request", "Send the token request form-encoded (x-www-form-urlencoded)."
        )
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if "client_secret" in form:
        return _oauth_error(401, "invalid_client", "This is a public client: no client_secret.")
    client = form.get("client_id", "")
    if not client or (client_id is not None and client != client_id):
        return _oauth_error(401, "invalid_client", "Unknown client id.")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code = tokens.take_code(form.get("code", ""))
        if code is None or code.client_id != client:
            return _oauth_error(400, "invalid_grant", "The code is invalid, used or expired.")
        if code.redirect_uri != form.get("redirect_uri"):
            return _oauth_error(400, "invalid_grant", "The redirect_uri does not match.")
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(s256(verifier), code.challenge):
            return _oauth_error(400, "invalid_grant", "The code_verifier does not match (PKCE).")
        access, refresh = tokens.issue(client, ttl, None)
        return _token_reply(access, refresh, ttl)
    if grant == "refresh_token":
        old = form.get("refresh_token", "")
        if not old or tokens.refresh_client(old) != client:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid or revoked.")
        if rotation == "rotate":
            tokens.revoke_refresh(old)
            access, refresh = tokens.issue(client, ttl, None)
            return _token_reply(access, refresh, ttl)
        access, _ = tokens.issue(client, ttl, old)
        return _token_reply(access, None if rotation == "omit" else old, ttl)
    return _oauth_error(400, "unsupported_grant_type", "Use authorization_code or refresh_token.")


def _token_reply(access: str, refresh: str | None, ttl: float) -> Plan:
    reply: dict[str, object] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
        "scope": SCOPE,
        "created_at": int(time.time()),
    }
    if refresh is not None:
        reply["refresh_token"] = refresh
    return json_plan(200, encode_json(reply))
