"""Signing in to the emulator without the CLI: the authorize redirect and the code exchange that
`raycast-ai auth login` performs, with the tokens stored where it stores them."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2

from raycast_ai.config import CREDENTIALS_FILE, update_json
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol import oauth

CLIENT_ID = "test-client-id"


def final_url(authorize_url: str) -> str:
    """Where the emulator's authorize page sends the browser: the address a user pastes."""
    response = httpx2.get(authorize_url, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def sign_in(server: EmulatorServer, client_id: str = CLIENT_ID) -> oauth.Tokens:
    started = oauth.authorization(client_id, web_url=server.base_url)
    code = oauth.code_from_redirect(final_url(started.url), started.state)
    response = httpx2.post(
        server.base_url + oauth.TOKEN_PATH,
        content=oauth.form_body(oauth.code_request(started, code)),
        headers=oauth.FORM_HEADERS,
    )
    return oauth.parse_token_reply(response.status_code, response.content, time.time())


def store(home: Path, tokens: oauth.Tokens, client_id: str = CLIENT_ID, **changes: object) -> Path:
    """Keeps `tokens` as `auth login` does; `changes` override stored fields (an expiry...)."""
    path = home / CREDENTIALS_FILE
    update_json(path, **{**oauth.stored_fields(tokens, client_id), **changes})
    return path
