"""The emulator's sign-in: /oauth/authorize, /oauth/token (PKCE S256, refresh with keep, rotate
or omit), and expiring rca_ tokens on chat, me and credits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from raycast_ai.emulator import EMULATOR_TOKEN
from raycast_ai.emulator.app import CREDITS_PATH, ME_PATH
from raycast_ai.emulator.config import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol import oauth
from raycast_ai.protocol.request import MODELS_PATH
from support_login import CLIENT_ID, final_url, sign_in


@pytest.fixture(scope="module", params=["keep", "rotate", "omit"])
def server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(refresh_rotation=request.param)) as running:
        yield running


@pytest.fixture(scope="module")
def plain() -> Iterator[EmulatorServer]:
    with EmulatorServer() as running:
        yield running


def token_post(server: EmulatorServer, fields: dict[str, str]) -> httpx2.Response:
    url = server.base_url + oauth.TOKEN_PATH
    return httpx2.post(url, content=oauth.form_body(fields), headers=oauth.FORM_HEADERS)


def bearer_get(server: EmulatorServer, path: str, token: str) -> httpx2.Response:
    return httpx2.get(server.base_url + path, headers={"Authorization": f"Bearer {token}"})


def test_authorize_redirects_with_code_and_state(plain: EmulatorServer) -> None:
    started = oauth.authorization(CLIENT_ID, web_url=plain.base_url)
    location = final_url(started.url)
    parts = urlsplit(location)
    assert location.startswith("https://www.raycast.com/oauth-redirect?scheme=com.raycast&")
    params = parse_qs(parts.query)
    assert params["state"] == [started.state] and params["code"][0]


@pytest.mark.parametrize(
    ("drop", "change", "error"),
    [
        ("code_challenge", {}, "invalid_request"),
        ("state", {}, "invalid_request"),
        (None, {"code_challenge_method": "plain"}, "invalid_request"),
        (None, {"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_checks_its_parameters(
    plain: EmulatorServer, drop: str | None, change: dict[str, str], error: str
) -> None:
    started = oauth.authorization(CLIENT_ID, web_url=plain.base_url)
    params = {k: v[0] for k, v in parse_qs(urlsplit(started.url).query).items()}
    params.pop(drop or "", None)
    params.update(change)
    response = httpx2.get(plain.base_url + oauth.AUTHORIZE_PATH, params=params)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_the_code_exchange_checks_pkce_and_spends_the_code(plain: EmulatorServer) -> None:
    started = oauth.authorization(CLIENT_ID, web_url=plain.base_url)
    code = oauth.code_from_redirect(final_url(started.url), started.state)
    fields = oauth.code_request(started, code)
    wrong = token_post(plain, {**fields, "code_verifier": oauth.Pkce.new().verifier})
    assert wrong.status_code == 400 and "PKCE" in wrong.json()["error_description"]
    # A code is spent by its first exchange, even a failed one.
    assert token_post(plain, fields).json()["error"] == "invalid_grant"

    started = oauth.authorization(CLIENT_ID, web_url=plain.base_url)
    code = oauth.code_from_redirect(final_url(started.url), started.state)
    fields = oauth.code_request(started, code)
    assert token_post(plain, {**fields, "redirect_uri": "x:/y"}).status_code == 400
    started = oauth.authorization(CLIENT_ID, web_url=plain.base_url)
    code = oauth.code_from_redirect(final_url(started.url), started.state)
    reply = token_post(plain, oauth.code_request(started, code))
    assert reply.status_code == 200
    body = reply.json()
    assert body["access_token"].startswith("rca_")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["refresh_token"] and body["scope"] == "read write"


def test_the_token_endpoint_wants_a_form_and_no_secret(plain: EmulatorServer) -> None:
    json_body = httpx2.post(plain.base_url + oauth.TOKEN_PATH, json={"grant_type": "refresh_token"})
    assert json_body.status_code == 400
    secret = token_post(plain, {"client_id": "c", "client_secret": "s", "grant_type": "x"})
    assert secret.status_code == 401
    assert token_post(plain, {"client_id": "c", "grant_type": "password"}).json()["error"] == (
        "unsupported_grant_type"
    )


def test_issued_tokens_open_chat_me_and_credits_until_they_expire(
    plain: EmulatorServer,
) -> None:
    tokens = sign_in(plain)
    for path in (ME_PATH, CREDITS_PATH):
        assert bearer_get(plain, path, tokens.access_token).status_code == 200
    plain.app.state.oauth.expire(tokens.access_token)
    for path in (ME_PATH, CREDITS_PATH):
        refused = bearer_get(plain, path, tokens.access_token)
        assert refused.status_code == 401
        assert "expired" in refused.json()["error"]["message"]
    # The emulator's own token is untouched by any of this.
    assert bearer_get(plain, ME_PATH, EMULATOR_TOKEN).status_code == 200
    assert bearer_get(plain, MODELS_PATH, "anything").status_code == 200


def test_refresh_keeps_rotates_or_omits_the_refresh_token(server: EmulatorServer) -> None:
    rotation = server.config.refresh_rotation
    tokens = sign_in(server)
    assert tokens.refresh_token is not None
    reply = token_post(server, oauth.refresh_request(CLIENT_ID, tokens.refresh_token))
    assert reply.status_code == 200
    body = reply.json()
    assert body["access_token"] != tokens.access_token
    assert bearer_get(server, ME_PATH, body["access_token"]).status_code == 200
    again = token_post(server, oauth.refresh_request(CLIENT_ID, tokens.refresh_token))
    if rotation == "rotate":
        assert body["refresh_token"] != tokens.refresh_token
        assert again.status_code == 400  # the old one was revoked
    elif rotation == "keep":
        assert body["refresh_token"] == tokens.refresh_token
        assert again.status_code == 200
    else:
        assert "refresh_token" not in body
        assert again.status_code == 200
    wrong_client = token_post(server, oauth.refresh_request("other", tokens.refresh_token))
    assert wrong_client.status_code == 400


def test_a_short_lifetime_and_a_fixed_client_id() -> None:
    config = EmulatorConfig(access_token_ttl=1.5, oauth_client_id="only-me")
    with EmulatorServer(config) as server:
        refused = httpx2.get(oauth.authorization("someone", web_url=server.base_url).url)
        assert refused.status_code == 401
        tokens = sign_in(server, "only-me")
        assert tokens.expires_at is not None
        reply = json.loads(
            token_post(server, oauth.refresh_request("only-me", str(tokens.refresh_token))).content
        )
        assert reply["expires_in"] == 1.5
    with pytest.raises(ValueError, match="refresh_rotation"):
        EmulatorConfig(refresh_rotation="sometimes")
