"""Raycast's remote tools from the library: both clients and the provider, against the emulator's
guessed remote-tool replies (emulator/remote.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from raycast_ai import (
    Citation,
    ImageLink,
    InvalidRequestError,
    Raycast,
    TextDelta,
    ToolCallDelta,
)
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.remote import image_url, search_texts, sources
from raycast_ai.emulator.server import EmulatorServer
from support_emulator import (
    DEFAULT_CHUNKS,
    DEFAULT_MODEL_ID,
    ENV_VARS,
    KINDS,
    Harness,
    chat_requests,
    make_harness,
    new_nonce,
    user,
)

pytestmark = pytest.mark.anyio

WEB = {"name": "web_search", "type": "remote_tool"}


@pytest.fixture(params=KINDS)
async def harness(
    request: pytest.FixtureRequest,
    emulator: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Harness]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    made = make_harness(str(request.param), emulator, tmp_path / "home")
    yield made
    await made.close()


async def test_remote_tools_reach_raycast_and_sources_come_back(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    done = await harness.complete(user(f"news {nonce} @search"), remote_tools=["web_search"])
    (sent,) = chat_requests(emulator, nonce)
    assert sent.json()["tools"] == [WEB]
    assert sent.json()["tool_choice"] == "auto"
    found = sources(f"news {nonce}")
    assert [(c.url, c.title, c.number) for c in done.citations] == [
        (s["url"], s["title"], n) for n, s in enumerate(found, 1)
    ]
    assert done.text == "".join(search_texts(f"news {nonce}", DEFAULT_MODEL_ID, DEFAULT_CHUNKS))
    assert done.tool_calls == ()
    assert done.finish_reason == "stop"


async def test_the_stream_carries_typed_citations_and_no_tool_call(harness: Harness) -> None:
    nonce = new_nonce()
    attempt = await harness.attempt(user(f"news {nonce} @search"), remote_tools=["web_search"])
    assert attempt.error is None
    assert not any(isinstance(e, ToolCallDelta) for e in attempt.events)
    kinds = [type(e) for e in attempt.events]
    # The sources arrive before the answer that cites them.
    assert kinds.index(Citation) < kinds.index(TextDelta)


async def test_an_image_tool(harness: Harness, emulator: EmulatorServer) -> None:
    nonce = new_nonce()
    done = await harness.complete(
        user(f"a fox {nonce} @image"), remote_tools=["gpt_image", "gpt_image"]
    )
    (sent,) = chat_requests(emulator, nonce)
    assert sent.json()["tools"] == [{"name": "gpt_image", "type": "remote_tool"}]
    assert done.images == (ImageLink(image_url("gpt_image", f"a fox {nonce}")),)


async def test_an_unknown_name_fails_before_any_request(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    with pytest.raises(InvalidRequestError, match="Did you mean 'web_search'"):
        await harness.complete(user(nonce), remote_tools=["web_serch"])
    assert chat_requests(emulator, nonce) == []


async def test_a_model_that_cannot_search_fails_before_any_request(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    with pytest.raises(InvalidRequestError, match="Models that can: openai-gpt-4o-mini"):
        await harness.complete(user(nonce), "openai_o1-o3", remote_tools=["web_search"])
    assert chat_requests(emulator, nonce) == []


# --- the provider -------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emulator: EmulatorServer) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAYCAST_AI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAYCAST_BASE_URL", emulator.base_url)
    monkeypatch.setenv("RAYCAST_TOKEN", EMULATOR_TOKEN)
    monkeypatch.setenv("RAYCAST_SIGNING_SECRET", EMULATOR_SECRET)


@pytest.mark.parametrize("stream", [True, False])
def test_the_provider_sends_remote_tools_and_ends_with_markdown_sources(
    env: None, emulator: EmulatorServer, stream: bool
) -> None:
    nonce = new_nonce()
    pieces = list(
        Raycast.create_completion(
            "", user(f"news {nonce} @search"), stream=stream, remote_tools=["web_search"]
        )
    )
    assert chat_requests(emulator, nonce)[-1].json()["tools"] == [WEB]
    text = "".join(pieces)
    listed = "\n".join(
        f"{n}. [{s['title']}]({s['url']})" for n, s in enumerate(sources(f"news {nonce}"), 1)
    )
    assert text.endswith("\n\nSources:\n" + listed)
    assert text.startswith("According to [1] and [2]: ")


async def test_the_async_provider_ends_with_the_image(env: None) -> None:
    nonce = new_nonce()
    pieces = [
        piece
        async for piece in Raycast.create_async_generator(
            "", user(f"a fox {nonce} @image"), remote_tools=["dalle"]
        )
    ]
    assert pieces[-1] == f"\n\n![image]({image_url('dalle', f'a fox {nonce}')})"
