"""Several Raycast accounts behind one gateway, against an emulator that accepts a token per
account: requests spread by least recent use or go where their key is pinned, and an account
Raycast rate-limits (or finds out of credits) cools down, its request answered by another.

The emulator records which token each request carried; `token_faults` makes one account's
requests meet a fault (a 429, `credits_error`) whatever they ask."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from starlette.applications import Starlette

from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.app import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.server.accounts import Account
from raycast_ai.server.pool import QUOTA_COOLDOWN
from raycast_ai.server.security import hash_key, key_id
from raycast_ai.store.base import StoreError

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
TOKENS = {"a": "token-a", "b": "token-b"}


@pytest.fixture
def upstream() -> Iterator[EmulatorServer]:
    """An emulator of its own: the accounts' tokens and faults are this test's."""
    with EmulatorServer(EmulatorConfig(tokens=tuple(TOKENS.values()))) as server:
        yield server


def options(emulator: EmulatorServer, home: Path) -> dict[str, Any]:
    return {
        "token": EMULATOR_TOKEN,  # accounts bring their own
        "signing_secret": EMULATOR_SECRET,  # the app's: every account signs with it
        "base_url": emulator.base_url,
        "home": home,
        "max_retries": 0,
    }


Open = Callable[..., AbstractAsyncContextManager[tuple[Starlette, httpx2.AsyncClient]]]


@pytest.fixture
def gateway(upstream: EmulatorServer, tmp_path: Path) -> Open:
    """Opens the gateway (its lifespan run, a client per account) and an HTTP client to it."""

    @asynccontextmanager
    async def open_gateway(
        accounts: Sequence[Account] = tuple(Account(n, t) for n, t in TOKENS.items()),
        api_keys: tuple[str, ...] = (),
    ) -> AsyncIterator[tuple[Starlette, httpx2.AsyncClient]]:
        settings = GatewaySettings(
            api_keys=api_keys,
            accounts=tuple(accounts),
            client_options=options(upstream, tmp_path / "home"),
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app), base_url="http://gateway"
            ) as http,
        ):
            yield app, http

    return open_gateway


def sdk(http: httpx2.AsyncClient, key: str = "unused") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=key, base_url="http://gateway/v1", http_client=http, max_retries=0
    )


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def chats(emulator: EmulatorServer) -> list[tuple[str, str]]:
    """(account, outcome) of each chat request the emulator received."""
    names = {f"Bearer {token}": name for name, token in TOKENS.items()}
    # An answer can reach the client before the emulator has noted how it ended.
    emulator.recorder.wait_for(lambda requests: all(r.outcome != "pending" for r in requests))
    return [
        (names.get(r.headers.get("authorization", ""), "?"), r.outcome)
        for r in emulator.recorder.for_path(CHAT_PATH)
    ]


async def ask(client: openai.AsyncOpenAI, text: str = "hi @chunks:2") -> str:
    answer = await client.chat.completions.create(model=MODEL, messages=user(text))
    return answer.choices[0].message.content or ""


async def test_requests_go_to_the_least_recently_used_account(
    upstream: EmulatorServer, gateway: Open
) -> None:
    async with gateway() as (_, http):
        client = sdk(http)
        for _ in range(4):
            assert await ask(client)
    assert chats(upstream) == [("a", "completed"), ("b", "completed")] * 2


async def test_a_pinned_key_goes_to_its_account(upstream: EmulatorServer, gateway: Open) -> None:
    keys = ("sk-team", "sk-alice")
    alice = Account("b", TOKENS["b"], keys=(key_id(hash_key("sk-alice")),))
    async with gateway([Account("a", TOKENS["a"]), alice], api_keys=keys) as (_, http):
        for _ in range(3):
            assert await ask(sdk(http, "sk-alice"))
        assert [name for name, _ in chats(upstream)] == ["b", "b", "b"]
        # Other keys use every account; the least recently used first.
        assert await ask(sdk(http, "sk-team"))
        assert await ask(sdk(http, "sk-team"))
    assert [name for name, _ in chats(upstream)][3:] == ["a", "b"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_429_cools_the_account_and_another_answers(
    upstream: EmulatorServer, gateway: Open, stream: bool
) -> None:
    upstream.config.token_faults["token-a"] = "429"
    async with gateway() as (app, http):
        client = sdk(http)
        created = await client.chat.completions.create(
            model=MODEL, messages=user("hi @chunks:2 @retry-after:30"), stream=stream
        )
        if stream:
            text = "".join([c.choices[0].delta.content or "" async for c in created if c.choices])
        else:
            text = created.choices[0].message.content or ""
        assert text  # the user never saw the 429
        assert chats(upstream) == [("a", "fault:429"), ("b", "completed")]
        until = (await app.state.cooldowns.cooling())["a"]
        assert 28 < until - time.time() <= 30  # Raycast's retry-after
        # While it cools, `a` gets no request at all.
        assert await ask(client)
        assert await ask(client)
    assert chats(upstream)[2:] == [("b", "completed"), ("b", "completed")]


async def test_the_responses_route_moves_too(upstream: EmulatorServer, gateway: Open) -> None:
    upstream.config.token_faults["token-a"] = "429"
    async with gateway() as (_, http):
        response = await sdk(http).responses.create(model=MODEL, input="hi @retry-after:30")
    assert response.output_text
    assert chats(upstream) == [("a", "fault:429"), ("b", "completed")]


async def test_with_every_account_cooling_the_gateway_answers_429_itself(
    upstream: EmulatorServer, gateway: Open
) -> None:
    upstream.config.token_faults.update({"token-a": "429", "token-b": "429"})
    async with gateway() as (_, http):
        client = sdk(http)
        with pytest.raises(openai.RateLimitError):  # Raycast's own, for the one retry
            await ask(client, "hi @retry-after:20")
        assert chats(upstream) == [("a", "fault:429"), ("b", "fault:429")]
        with pytest.raises(openai.RateLimitError) as caught:
            await ask(client)
        seen = len(upstream.recorder)
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model=MODEL, messages=user("hi"), stream=True)
        assert len(upstream.recorder) == seen  # nothing was sent to Raycast
    response = caught.value.response
    assert 18 <= int(response.headers["retry-after"]) <= 20
    assert caught.value.code == "rate_limit_exceeded"
    assert "Every Raycast account of this gateway (2) is cooling down" in caught.value.message
    assert len(chats(upstream)) == 2


async def test_a_key_pinned_to_a_cooling_account_waits_though_another_is_free(
    upstream: EmulatorServer, gateway: Open
) -> None:
    upstream.config.token_faults["token-b"] = "429"
    alice = Account("b", TOKENS["b"], keys=(key_id(hash_key("sk-alice")),))
    keys = ("sk-team", "sk-alice")
    async with gateway([Account("a", TOKENS["a"]), alice], api_keys=keys) as (_, http):
        with pytest.raises(openai.RateLimitError):
            await ask(sdk(http, "sk-alice"), "hi @retry-after:20")
        with pytest.raises(openai.RateLimitError, match="this API key is pinned to \\('b'\\)"):
            await ask(sdk(http, "sk-alice"))
        assert await ask(sdk(http, "sk-team"))  # `a` is free for the others
    assert chats(upstream) == [("b", "fault:429"), ("a", "completed")]


async def test_when_the_cooldown_ends_the_account_is_used_again(
    upstream: EmulatorServer, gateway: Open
) -> None:
    upstream.config.token_faults["token-a"] = "429"
    async with gateway() as (_, http):
        client = sdk(http)
        assert await ask(client, "hi @retry-after:0.5")
        assert await ask(client)
        del upstream.config.token_faults["token-a"]  # Raycast lets it through again
        await asyncio.sleep(0.6)
        assert await ask(client)
    assert chats(upstream) == [
        ("a", "fault:429"),
        ("b", "completed"),
        ("b", "completed"),
        ("a", "completed"),
    ]


async def test_a_quota_error_cools_the_account_longer(
    upstream: EmulatorServer, gateway: Open
) -> None:
    upstream.config.token_faults["token-a"] = "credits_error"
    async with gateway() as (app, http):
        assert await ask(sdk(http))
        until = (await app.state.cooldowns.cooling())["a"]
    assert chats(upstream) == [("a", "fault:credits_error"), ("b", "completed")]
    assert QUOTA_COOLDOWN - 5 < until - time.time() <= QUOTA_COOLDOWN


async def test_one_account_cools_down_too(upstream: EmulatorServer, tmp_path: Path) -> None:
    """Without an accounts file: after Raycast's 429 the gateway answers 429 itself, in each
    dialect's shape, until the retry-after has passed, instead of hammering Raycast."""
    settings = GatewaySettings(client_options=options(upstream, tmp_path))
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://gateway") as http,
    ):
        client = sdk(http)
        with pytest.raises(openai.RateLimitError, match="Raycast rate limit reached"):
            await ask(client, "hi @fault:429 @retry-after:1")
        seen = len(upstream.recorder)
        with pytest.raises(openai.RateLimitError, match="This gateway's Raycast account") as caught:
            await ask(client)
        assert caught.value.response.headers["retry-after"] == "1"
        anthropic = await http.post(
            "/v1/messages",
            json={"model": MODEL, "max_tokens": 50, "messages": user("hi")},
        )
        assert anthropic.status_code == 429
        assert anthropic.json()["type"] == "error"
        assert anthropic.json()["error"]["type"] == "rate_limit_error"
        assert len(upstream.recorder) == seen
        await asyncio.sleep(1.05)
        assert await ask(client)
    assert len(upstream.recorder) == seen + 1


class Unavailable:
    """A shared store that went away."""

    async def cool(self, account: str, seconds: float) -> None:
        raise StoreError("Redis is not reachable")

    async def cooling(self) -> dict[str, float]:
        raise StoreError("Redis is not reachable")


async def test_without_a_cooldown_store_every_account_is_still_served(
    upstream: EmulatorServer, gateway: Open
) -> None:
    upstream.config.token_faults["token-a"] = "429"
    async with gateway() as (app, http):
        app.state.cooldowns = Unavailable()
        client = sdk(http)
        assert await ask(client, "hi @retry-after:30")
        assert await ask(client, "hi @retry-after:30")
    # Nothing remembers that `a` cools: it is tried each time, and `b` answers.
    assert chats(upstream) == [("a", "fault:429"), ("b", "completed")] * 2


async def test_cooldowns_can_be_left_out(upstream: EmulatorServer, tmp_path: Path) -> None:
    """`cool_accounts=False` (the benchmarks, whose faults are drawn per request) sends every
    request on."""
    settings = GatewaySettings(client_options=options(upstream, tmp_path), cool_accounts=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://gateway") as http,
    ):
        with pytest.raises(openai.RateLimitError, match="Raycast rate limit reached"):
            await ask(sdk(http), "hi @fault:429 @retry-after:30")
        assert await ask(sdk(http))
        assert await app.state.cooldowns.cooling() == {}


async def test_the_data_folders_accounts_file_is_used_by_default(
    upstream: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "data"
    home.mkdir()
    accounts = home / "accounts.toml"
    accounts.write_text(
        '[[accounts]]\nname = "a"\ntoken_env = "TOKEN_A"\n\n'
        '[[accounts]]\nname = "b"\ntoken_env = "TOKEN_B"\n'
    )
    for name, value in {
        "RAYCAST_AI_HOME": str(home),
        "RAYCAST_BASE_URL": upstream.base_url,
        "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
        "TOKEN_A": TOKENS["a"],
        "TOKEN_B": TOKENS["b"],
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RAYCAST_AI_ACCOUNTS", raising=False)
    monkeypatch.delenv("RAYCAST_TOKEN", raising=False)
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://gateway") as http,
    ):
        assert await ask(sdk(http))
        assert await ask(sdk(http))
    assert chats(upstream) == [("a", "completed"), ("b", "completed")]
