"""Raycast's OAuth 2.0 sign-in (authorization code with PKCE, S256) and the refresh grant, as
values: the verifier and challenge, the authorize URL, the token request bodies, what a reply
and a pasted redirect URL mean, and when a token needs renewing. No I/O.

Everything here follows third-party code (the Windows bridge and CodexBar's notes, reference
section 9.3); none of it was checked against the live service.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from .errors import AuthenticationError, InvalidRequestError

DEFAULT_WEB_URL = "https://www.raycast.com"
AUTHORIZE_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
REDIRECT_URI = "https://www.raycast.com/oauth-redirect?scheme=com.raycast"
SCOPE = "read write"
# A token counts as expired this many seconds early, so it does not lapse in flight.
EXPIRY_MARGIN = 60.0
# An `expires_at` above this is in milliseconds (it is year 5138 in seconds).
_MILLISECONDS = 1e11

LOGIN_AGAIN = "Sign in again with 'raycast-ai auth login'."


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh 64-character verifier (RFC 7636 allows 43 to 128) and its S256 challenge."""
        verifier = secrets.token_urlsafe(48)
        return cls(verifier, s256(verifier))


def s256(verifier: str) -> str:
    """Unpadded base64url of SHA-256(verifier): the `code_challenge` of method S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Authorization:
    """One sign-in in progress: what the browser is sent to and what must come back."""

    url: str
    state: str
    pkce: Pkce
    client_id: str
    redirect_uri: str


def authorization(
    client_id: str,
    *,
    web_url: str = DEFAULT_WEB_URL,
    redirect_uri: str = REDIRECT_URI,
    pkce: Pkce | None = None,
    state: str | None = None,
) -> Authorization:
    pkce = pkce or Pkce.new()
    state = state or str(uuid.uuid4())
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "response_type": "code",
            "code_challenge_method": "S256",
            "code_challenge": pkce.challenge,
            "state": state,
        },
        quote_via=quote,  # spaces as %20: `scope=read%20write`
    )
    url = f"{web_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"
    return Authorization(url, state, pkce, client_id, redirect_uri)


def code_from_redirect(pasted: str, expected_state: str) -> str:
    """The authorization code in the URL the browser ended on (query or fragment), once its
    `state` is the one sent; a refused sign-in or a foreign URL raises with what to do."""
    text = pasted.strip().strip("'\"<>")
    if not text:
        raise InvalidRequestError(
            "Nothing was pasted: paste the whole address the browser ended on after you "
            "approved the sign-in."
        )
    parts = urlsplit(text)
    params = {**parse_qs(parts.fragment), **parse_qs(parts.query)}
    if not parts.query and not parts.fragment and "=" in text:
        params = parse_qs(text.lstrip("?#"))

    def one(name: str) -> str | None:
        values = params.get(name)
        return values[0] if values else None

    error = one("error")
    if error:
        detail = one("error_description") or error
        raise AuthenticationError(f"Raycast did not grant the sign-in: {detail}. {LOGIN_AGAIN}")
    code = one("code")
    if not code:
        raise InvalidRequestError(
            "The pasted address carries no 'code': paste the whole address the browser ended "
            "on after you approved the sign-in (it contains code=...&state=...)."
        )
    state = one("state")
    if state is None or not secrets.compare_digest(state.encode(), expected_state.encode()):
        raise AuthenticationError(
            "The pasted address does not belong to this sign-in (its 'state' differs, or is "
            "missing), so it was refused. Start again with 'raycast-ai auth login' and paste "
            "the address from that attempt."
        )
    return code


def code_request(auth: Authorization, code: str) -> dict[str, str]:
    """The form fields that exchange the code for tokens (no client secret: PKCE instead)."""
    return {
        "client_id": auth.client_id,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": auth.redirect_uri,
        "code_verifier": auth.pkce.verifier,
    }


def refresh_request(client_id: str, refresh_token: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }


def form_body(fields: Mapping[str, str]) -> bytes:
    return urlencode(fields).encode("ascii")


FORM_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
}


@dataclass(frozen=True, slots=True)
class Tokens:
    """A token reply. `expires_at` is Unix seconds, None when the reply gave no lifetime."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    token_type: str = "Bearer"
    scope: str | None = None

    def fresh(self, now: float) -> bool:
        return is_fresh(self.expires_at, now)


def parse_token_reply(
    status: int, body: bytes, now: float, *, previous_refresh: str | None = None
) -> Tokens:
    """The tokens of a 2xx token reply; the previous refresh token is kept when the reply has
    none. Any other answer raises AuthenticationError carrying the server's explanation."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    if not 200 <= status < 300:
        detail = _error_detail(payload, body)
        raise AuthenticationError(
            f"Raycast refused the token request (HTTP {status}: {detail}).", type="oauth_error"
        )
    access = payload.get("access_token") if isinstance(payload, Mapping) else None
    if not isinstance(access, str) or not access:
        raise AuthenticationError(
            "Raycast's token reply carries no access_token.", type="oauth_error"
        )
    refresh = payload.get("refresh_token")
    lifetime = payload.get("expires_in")
    expires_at = None
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
        expires_at = now + float(lifetime)
    elif isinstance(payload.get("expires_at"), int | float):
        expires_at = expires_at_seconds(payload["expires_at"])
    kind = payload.get("token_type")
    scope = payload.get("scope")
    return Tokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else previous_refresh,
        expires_at=expires_at,
        token_type=kind if isinstance(kind, str) and kind else "Bearer",
        scope=scope if isinstance(scope, str) else None,
    )


def _error_detail(payload: Any, body: bytes) -> str:
    if isinstance(payload, Mapping):
        description = payload.get("error_description")
        error = payload.get("error")
        if isinstance(error, Mapping):
            error = error.get("message")
        parts = [str(p) for p in (error, description) if isinstance(p, str) and p]
        if parts:
            return ": ".join(parts)
    text = body.decode("utf-8", "replace").strip()
    return text[:200] or "no explanation"


def expires_at_seconds(value: float) -> float:
    """A stored expiry in seconds, whether it was written in seconds or milliseconds."""
    return value / 1000.0 if value > _MILLISECONDS else float(value)


def is_fresh(expires_at: float | None, now: float, margin: float = EXPIRY_MARGIN) -> bool:
    """Usable for another `margin` seconds; a token without an expiry never expires."""
    if expires_at is None:
        return True
    return now < expires_at_seconds(expires_at) - margin


def stored_fields(tokens: Tokens, client_id: str) -> dict[str, Any]:
    """What the credentials file keeps of a sign-in (None removes a key)."""
    return {
        "token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": round(tokens.expires_at, 3) if tokens.expires_at is not None else None,
        "token_type": tokens.token_type,
        "oauth_client_id": client_id,
    }


# The credentials file's keys that belong to a sign-in, removed by `auth logout`.
LOGIN_KEYS = (
    "token",
    "refresh_token",
    "expires_at",
    "token_type",
    "oauth_client_id",
    "token_origin",
)
