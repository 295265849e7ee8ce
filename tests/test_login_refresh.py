"""A token from `raycast-ai auth login` kept alive by the library clients, sync and async: renewed
a minute before it expires and once after a 401, the refresh token kept when a reply has none,
then "sign in again"; credits and the account through the same path; quota errors typed."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from raycast_ai import (
    AsyncRaycastClient,
    AuthenticationError,
    Credits,
    QuotaExceededError,
    RaycastClient,
)
from raycast_ai.config import CREDENTIALS_FILE
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.config import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.oauth import TOKEN_PATH
from raycast_ai.protocol.request import CHAT_PATH
from support_emulator import ENV_VARS, KINDS, TIMEOUT, new_nonce, user
from support_login import sign_in, store

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAYCAST_AI_HOME", str(tmp_path / "env-home"))


@pytest.fixture(scope="module", params=["keep", "rotate", "omit"])
def server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(refresh_rotation=request.param)) as running:
        yield running


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


class Client:
    """One interface over the sync and async clients (the sync one simply blocks)."""

    def __init__(self, kind: str, server: EmulatorServer, home: Path, **options: Any) -> None:
        self.sleeps: list[float] = []
        options = {
            "signing_secret": EMULATOR_SECRET,
            "base_url": server.base_url,
            "home": home,
            "timeout": TIMEOUT,
            "max_retries": 0,
            **options,
        }
        if kind == "sync":
            self.sync: RaycastClient | None = RaycastClient(sleep=self.sleeps.append, **options)
            self.aio: AsyncRaycastClient | None = None
        else:

            async def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)

            self.sync, self.aio = None, AsyncRaycastClient(sleep=sleep, **options)

    async def text(self, prompt: str) -> str:
        if self.sync is not None:
            return self.sync.complete(user(prompt)).text
        assert self.aio is not None
        return (await self.aio.complete(user(prompt))).text

    async def credits(self) -> Credits:
        if self.sync is not None:
            return self.sync.credits()
        assert self.aio is not None
        return await self.aio.credits()

    async def account(self) -> dict[str, Any]:
        if self.sync is not None:
            return self.sync.account()
        assert self.aio is not None
        return await self.aio.account()

    async def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.aio is not None:
            await self.aio.aclose()


def stored(home: Path) -> dict[str, Any]:
    path = home / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    payload: dict[str, Any] = json.loads(path.read_text())
    return payload


def refreshes(server: EmulatorServer, since: int) -> list[str]:
    return [
        r.body.decode()
        for r in server.recorder.requests[since:]
        if r.path == TOKEN_PATH and b"grant_type=refresh_token" in r.body
    ]


def bearer_of_last_chat(server: EmulatorServer, nonce: str) -> str:
    chats = [r for r in server.recorder.for_path(CHAT_PATH) if nonce.encode() in r.body]
    return chats[-1].headers["authorization"].removeprefix("Bearer ")


async def test_a_token_about_to_expire_is_renewed_before_the_request(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    tokens = sign_in(server)
    store(home, tokens, expires_at=time.time() + 30)  # inside the minute of margin
    client = Client(kind, server, home)
    since, nonce = len(server.recorder), new_nonce()
    try:
        assert await client.text(f"hello {nonce}")
    finally:
        await client.close()
    after = stored(home)
    assert after["token"] != tokens.access_token and after["token"].startswith("rca_")
    assert after["expires_at"] > time.time() + 3000
    assert len(refreshes(server, since)) == 1
    assert bearer_of_last_chat(server, nonce) == after["token"]
    rotation = server.config.refresh_rotation
    if rotation == "rotate":
        assert after["refresh_token"] != tokens.refresh_token
    else:  # repeated, or absent from the reply and kept
        assert after["refresh_token"] == tokens.refresh_token


async def test_a_refused_token_is_renewed_once_and_the_request_sent_again(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    tokens = sign_in(server)
    store(home, tokens)  # the file says it is good for an hour ...
    server.app.state.oauth.expire(tokens.access_token)  # ... but Raycast says 401
    client = Client(kind, server, home)
    since, nonce = len(server.recorder), new_nonce()
    try:
        assert await client.text(f"hello {nonce}")
        assert (await client.account())["email"] == "user@example.com"
    finally:
        await client.close()
    assert len(refreshes(server, since)) == 1
    chats = [r for r in server.recorder.for_path(CHAT_PATH)[-2:] if nonce.encode() in r.body]
    assert len(chats) == 2 and chats[0].outcome == "rejected:token"  # then sent again
    assert client.sleeps == []  # a renewal is not a retry: no back-off
    assert stored(home)["token"] == bearer_of_last_chat(server, nonce)


async def test_sign_in_again_when_the_refresh_grant_fails(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    tokens = sign_in(server)
    store(home, tokens, refresh_token="rcr_unknown")
    server.app.state.oauth.expire(tokens.access_token)
    before = stored(home)
    client = Client(kind, server, home)
    try:
        with pytest.raises(AuthenticationError) as info:
            await client.text("hello")
    finally:
        await client.close()
    assert info.value.type == "login_expired"
    assert "raycast-ai auth login" in info.value.message
    assert "invalid_grant" in info.value.message
    assert stored(home) == before  # nothing overwritten


async def test_sign_in_again_when_there_is_nothing_to_renew_with(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    tokens = sign_in(server)
    store(home, tokens, refresh_token=None, expires_at=time.time() - 5)
    client = Client(kind, server, home)
    since = len(server.recorder)
    try:
        with pytest.raises(AuthenticationError, match="raycast-ai auth login"):
            await client.credits()
    finally:
        await client.close()
    assert refreshes(server, since) == []


async def test_a_token_given_directly_is_never_renewed(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    tokens = sign_in(server)
    store(home, tokens)
    server.app.state.oauth.expire(tokens.access_token)
    client = Client(kind, server, home, token=tokens.access_token)
    since = len(server.recorder)
    try:
        with pytest.raises(AuthenticationError, match="HTTP 401"):
            await client.text("hello")
    finally:
        await client.close()
    assert refreshes(server, since) == []


async def test_credits_and_account_through_the_client(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    client = Client(kind, server, home, token=EMULATOR_TOKEN)
    try:
        found = await client.credits()
        profile = await client.account()
    finally:
        await client.close()
    assert (str(found.remaining), str(found.total), found.plan) == ("125", "500", "pro")
    assert profile["name"] == "Emulator User"


async def test_concurrent_requests_renew_once(server: EmulatorServer, home: Path) -> None:
    tokens = sign_in(server)
    store(home, tokens)
    server.app.state.oauth.expire(tokens.access_token)
    since = len(server.recorder)
    texts: list[str] = []
    async with AsyncRaycastClient(
        signing_secret=EMULATOR_SECRET, base_url=server.base_url, home=home, timeout=TIMEOUT
    ) as client:

        async def ask(i: int) -> None:
            texts.append((await client.complete(user(f"question {i} @chunks:2"))).text)

        async with anyio.create_task_group() as group:
            for i in range(6):
                group.start_soon(ask, i)
    assert len(texts) == 6 and all(texts)
    assert len(refreshes(server, since)) == 1


async def test_quota_errors_are_typed_with_their_wait(
    kind: str, server: EmulatorServer, home: Path
) -> None:
    client = Client(kind, server, home, token=EMULATOR_TOKEN, max_retries=2)
    try:
        with pytest.raises(QuotaExceededError) as trial:
            await client.text("hello @fault:free_trial")
        with pytest.raises(QuotaExceededError) as credits:
            await client.text("hello @fault:credits_error")
    finally:
        await client.close()
    assert trial.value.retry_after == 420 and trial.value.type == "free_trial_limit"
    assert "try again in 7 minutes" in trial.value.message
    assert credits.value.type == "credits_error" and credits.value.retry_after is None
    assert client.sleeps == []  # never retried: waiting seconds cannot help


@pytest.mark.parametrize(
    ("expires_in", "in_ms", "renews"),
    [(120.0, False, False), (30.0, False, True), (30.0, True, True), (120.0, True, False)],
)
async def test_renewal_starts_a_minute_before_the_expiry_in_seconds_or_ms(
    kind: str, server: EmulatorServer, home: Path, expires_in: float, in_ms: bool, renews: bool
) -> None:
    tokens = sign_in(server)
    expires_at = time.time() + expires_in
    store(home, tokens, expires_at=expires_at * 1000 if in_ms else expires_at)
    client = Client(kind, server, home)
    since = len(server.recorder)
    try:
        assert (await client.credits()).plan == "pro"
    finally:
        await client.close()
    assert len(refreshes(server, since)) == (1 if renews else 0)
    assert (stored(home)["token"] != tokens.access_token) is renews
