"""protocol/oauth.py: PKCE, the authorize URL, the pasted redirect, token replies, expiry."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from raycast_ai.protocol import oauth
from raycast_ai.protocol.errors import AuthenticationError, InvalidRequestError

NOW = 1_800_000_000.0


def test_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_new_verifier_is_long_enough_and_unpadded() -> None:
    first, second = oauth.Pkce.new(), oauth.Pkce.new()
    assert 43 <= len(first.verifier) <= 128
    assert first.verifier != second.verifier
    assert "=" not in first.challenge and len(first.challenge) == 43
    assert first.challenge == oauth.s256(first.verifier)


def test_the_authorize_url_carries_the_parameters_of_9_3() -> None:
    started = oauth.authorization("my-id", web_url="http://127.0.0.1:9/")
    parts = urlsplit(started.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:9", "/oauth/authorize")
    assert "scope=read%20write" in parts.query
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params == {
        "client_id": "my-id",
        "redirect_uri": "https://www.raycast.com/oauth-redirect?scheme=com.raycast",
        "scope": "read write",
        "response_type": "code",
        "code_challenge_method": "S256",
        "code_challenge": started.pkce.challenge,
        "state": started.state,
    }
    assert oauth.authorization("my-id").url.startswith("https://www.raycast.com/oauth/authorize?")


@pytest.mark.parametrize(
    "pasted",
    [
        "https://www.raycast.com/oauth-redirect?scheme=com.raycast&code=C0DE&state=S1",
        "  com.raycast://oauth-callback?code=C0DE&state=S1\n",
        "com.raycast://oauth-callback#code=C0DE&state=S1",
        "'https://x.test/cb?state=S1&code=C0DE'",
        "code=C0DE&state=S1",
    ],
)
def test_the_code_comes_from_whatever_address_is_pasted(pasted: str) -> None:
    assert oauth.code_from_redirect(pasted, "S1") == "C0DE"


@pytest.mark.parametrize(
    ("pasted", "error", "says"),
    [
        ("https://x.test/cb?code=C0DE&state=OTHER", AuthenticationError, "does not belong"),
        ("https://x.test/cb?code=C0DE", AuthenticationError, "does not belong"),
        ("https://x.test/cb?state=S1", InvalidRequestError, "carries no 'code'"),
        ("", InvalidRequestError, "Nothing was pasted"),
        (
            "https://x.test/cb?error=access_denied&error_description=The+user+said+no&state=S1",
            AuthenticationError,
            "The user said no",
        ),
    ],
)
def test_a_foreign_or_refused_redirect_is_refused(
    pasted: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        oauth.code_from_redirect(pasted, "S1")


def test_token_request_bodies() -> None:
    started = oauth.authorization("cid", redirect_uri="com.raycast://oauth-callback")
    fields = oauth.code_request(started, "abc")
    assert fields == {
        "client_id": "cid",
        "grant_type": "authorization_code",
        "code": "abc",
        "redirect_uri": "com.raycast://oauth-callback",
        "code_verifier": started.pkce.verifier,
    }
    assert "client_secret" not in fields
    body = oauth.form_body(oauth.refresh_request("cid", "r/1+2"))
    assert body == b"client_id=cid&grant_type=refresh_token&refresh_token=r%2F1%2B2"


def test_a_reply_gives_tokens_and_an_expiry() -> None:
    reply = {"access_token": "rca_x", "refresh_token": "r1", "expires_in": 7200}
    tokens = oauth.parse_token_reply(200, json.dumps(reply).encode(), NOW)
    assert tokens == oauth.Tokens("rca_x", "r1", NOW + 7200, "Bearer", None)
    assert tokens.fresh(NOW + 7200 - 61) and not tokens.fresh(NOW + 7200 - 59)


def test_a_reply_without_refresh_token_keeps_the_old_one() -> None:
    body = json.dumps({"access_token": "rca_y", "token_type": "bearer"}).encode()
    tokens = oauth.parse_token_reply(200, body, NOW, previous_refresh="old")
    assert tokens.refresh_token == "old"
    assert tokens.expires_at is None and tokens.fresh(NOW + 10**9)  # no expiry: never expires
    assert tokens.token_type == "bearer"


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (400, b'{"error":"invalid_grant","error_description":"revoked"}', "invalid_grant: revoked"),
        (401, b"<html>nope</html>", "HTTP 401: <html>nope</html>"),
        (200, b'{"token_type":"Bearer"}', "no access_token"),
        (200, b"not json", "no access_token"),
    ],
)
def test_a_refusal_says_why(status: int, body: bytes, says: str) -> None:
    with pytest.raises(AuthenticationError, match=says):
        oauth.parse_token_reply(status, body, NOW)


def test_expiry_in_seconds_or_milliseconds_and_the_margin() -> None:
    assert oauth.expires_at_seconds(NOW * 1000) == NOW
    assert oauth.expires_at_seconds(NOW) == NOW
    assert oauth.is_fresh(NOW * 1000, NOW - 61)
    assert not oauth.is_fresh(NOW, NOW - 60)
    assert oauth.is_fresh(None, NOW)


def test_what_is_stored_never_loses_a_key_silently() -> None:
    stored = oauth.stored_fields(oauth.Tokens("rca_a", None, NOW + 0.12345), "cid")
    assert stored == {
        "token": "rca_a",
        "refresh_token": None,
        "expires_at": round(NOW + 0.12345, 3),
        "token_type": "Bearer",
        "oauth_client_id": "cid",
    }
    assert set(stored) < set(oauth.LOGIN_KEYS)
