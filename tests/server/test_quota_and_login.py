"""The gateway over quota errors and over a sign-in from `raycast-ai auth login`: the free trial's
limit and `credits_error` reach every dialect's SDK as 429 with retry-after where Raycast named a
wait; an expired stored sign-in is renewed behind the gateway's back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator import EMULATOR_SECRET
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.oauth import TOKEN_PATH
from raycast_ai.server import GatewaySettings, create_app
from support_login import sign_in, store

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
QUOTAS = [
    ("free_trial", "free_trial_limit", "420", "try again in 7 minutes"),
    ("credits_error", "credits_error", None, "used all your AI credits"),
]


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def check(response: httpx2.Response, retry_after: str | None) -> None:
    assert response.status_code == 429
    assert response.headers.get("retry-after") == retry_after
    assert response.headers["x-should-retry"] == "false"  # the SDKs do not hammer it


@pytest.mark.parametrize(("fault", "code", "retry_after", "says"), QUOTAS)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_openai_chat_gets_429_with_retry_after(
    client: openai.AsyncOpenAI,
    fault: str,
    code: str,
    retry_after: str | None,
    says: str,
    stream: bool,
) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(
            model=MODEL, messages=user(f"hello @fault:{fault}"), stream=stream
        )
    check(caught.value.response, retry_after)
    assert caught.value.code == code
    assert caught.value.type == "insufficient_quota"
    assert says in caught.value.message


@pytest.mark.parametrize(("fault", "code", "retry_after", "says"), QUOTAS)
async def test_openai_responses_gets_429_with_retry_after(
    client: openai.AsyncOpenAI, fault: str, code: str, retry_after: str | None, says: str
) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await client.responses.create(model=MODEL, input=f"hello @fault:{fault}")
    check(caught.value.response, retry_after)
    assert says in caught.value.message


@pytest.mark.parametrize(("fault", "code", "retry_after", "says"), QUOTAS)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_anthropic_gets_429_with_retry_after(
    gateway_at: Any,
    fault: str,
    code: str,
    retry_after: str | None,
    says: str,
    stream: bool,
) -> None:
    async with anthropic.AsyncAnthropic(
        api_key="unused",
        base_url=gateway_at.base_url,
        http_client=gateway_at.http_client,
        max_retries=0,
    ) as sdk:
        with pytest.raises(anthropic.RateLimitError) as caught:
            if stream:
                async with sdk.messages.stream(
                    model=MODEL, max_tokens=10, messages=user(f"hi @fault:{fault}")
                ) as events:
                    await events.get_final_message()
            else:
                await sdk.messages.create(
                    model=MODEL, max_tokens=10, messages=user(f"hi @fault:{fault}")
                )
    check(caught.value.response, retry_after)
    assert caught.value.body is not None
    assert says in str(caught.value.body)


async def test_the_gateway_renews_an_expired_sign_in(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    tokens = sign_in(emulator)
    store(home, tokens)
    emulator.app.state.oauth.expire(tokens.access_token)
    before = len(emulator.recorder)
    async with AsyncRaycastClient(
        signing_secret=EMULATOR_SECRET, base_url=emulator.base_url, home=home, max_retries=0
    ) as upstream:
        transport = httpx2.ASGITransport(create_app(GatewaySettings(), client=upstream))
        async with (
            httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http,
            openai.AsyncOpenAI(
                api_key="unused", base_url="http://gateway/v1", http_client=http, max_retries=0
            ) as sdk,
        ):
            answer = await sdk.chat.completions.create(model=MODEL, messages=user("hi @chunks:2"))
    assert answer.choices[0].message.content
    assert [r.path for r in emulator.recorder.requests[before:]].count(TOKEN_PATH) == 1
