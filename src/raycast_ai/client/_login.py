"""The sign-in that `raycast-ai auth login` keeps in the credentials file, as a client uses it:
whether the token in use came from there, when it needs renewing, the refresh request, and
storing what the token endpoint answers. The shells send the request; no sockets here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from raycast_ai.config import CREDENTIALS_FILE, Settings, read_json, update_json
from raycast_ai.protocol.errors import AuthenticationError
from raycast_ai.protocol.oauth import (
    FORM_HEADERS,
    LOGIN_AGAIN,
    TOKEN_PATH,
    expires_at_seconds,
    form_body,
    is_fresh,
    parse_token_reply,
    refresh_request,
    stored_fields,
)
from raycast_ai.protocol.request import USER_AGENT
from raycast_ai.transport.base import URL, Request, Timeout


class Login:
    """A stored sign-in: the file it lives in and the token endpoint that renews it."""

    __slots__ = ("_expiry", "path", "token_url")

    def __init__(self, path: Path, base_url: str) -> None:
        self.path = path
        self.token_url = URL.parse(base_url).join(TOKEN_PATH)
        self._expiry: tuple[str | None, float | None] | None = None  # (token, its expiry)

    @classmethod
    def of(cls, settings: Settings) -> Login | None:
        """The sign-in behind `settings.token`, or None when the token came from an argument,
        the environment, or was stored without a refresh token or an expiry (`auth set`)."""
        path = settings.home / CREDENTIALS_FILE
        if settings.token is None or settings.sources.get("token") != f"file ({path})":
            return None
        stored = read_json(path)
        if stored.get("token") != settings.token:
            return None
        if not stored.get("refresh_token") and stored.get("expires_at") is None:
            return None
        return cls(path, settings.base_url)

    def expiring(self, token: str | None, now: float | None = None) -> bool:
        """Whether `token` expires within a minute, by the expiry stored with it (read from the
        file once per token)."""
        if self._expiry is None or self._expiry[0] != token:
            stored = read_json(self.path)
            value = stored.get("expires_at")
            known = stored.get("token") == token and isinstance(value, int | float)
            self._expiry = (token, float(value) if known and value is not None else None)
        expires_at = self._expiry[1]
        return expires_at is not None and not is_fresh(
            expires_at, time.time() if now is None else now
        )

    def current(self, used: str | None) -> str | None:
        """A fresh token stored since `used` was read (another process renewed it), else None."""
        stored = read_json(self.path)
        token = stored.get("token")
        expires_at = stored.get("expires_at")
        if not isinstance(token, str) or not token or token == used:
            return None
        if isinstance(expires_at, int | float) and not is_fresh(float(expires_at), time.time()):
            return None
        return token

    def request(self, timeout: Timeout, connection: Mapping[str, str]) -> Request:
        """The refresh grant; raises the "sign in again" error when nothing can renew it."""
        stored = read_json(self.path)
        refresh = stored.get("refresh_token")
        client_id = stored.get("oauth_client_id")
        if not isinstance(refresh, str) or not refresh or not isinstance(client_id, str):
            raise AuthenticationError(
                f"Your Raycast sign-in has expired and there is no refresh token to renew it. "
                f"{LOGIN_AGAIN}",
                type="login_expired",
            )
        body = form_body(refresh_request(client_id, refresh))
        headers = {**FORM_HEADERS, "User-Agent": USER_AGENT, **connection}
        return Request("POST", self.token_url, headers, body, timeout)

    def renewed(self, status: int, body: bytes) -> str:
        """Stores the refresh grant's answer and gives the new access token; a refusal is the
        "sign in again" error (the stored sign-in is left as it was)."""
        stored = read_json(self.path)
        previous = stored.get("refresh_token")
        try:
            tokens = parse_token_reply(
                status,
                body,
                time.time(),
                previous_refresh=previous if isinstance(previous, str) else None,
            )
        except AuthenticationError as exc:
            raise AuthenticationError(
                f"Your Raycast sign-in has expired and could not be renewed "
                f"({exc.message.rstrip('.')}). {LOGIN_AGAIN}",
                type="login_expired",
            ) from None
        client_id = stored.get("oauth_client_id")
        update_json(self.path, **stored_fields(tokens, str(client_id)))
        return tokens.access_token

    def expiry(self) -> float | None:
        value = read_json(self.path).get("expires_at")
        return expires_at_seconds(float(value)) if isinstance(value, int | float) else None
