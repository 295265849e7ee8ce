"""How the chat route treats odd event sequences, with a scripted client in place of Raycast."""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest

from raycast_ai.client import AsyncChatStream
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.events import Event, Finish, Notice, TextDelta, ToolCallDelta, Usage
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.server import chat as chat_module

pytestmark = pytest.mark.anyio

ENTRY = ModelEntry(id="openai-gpt-4o-mini", model="gpt-4o-mini", provider="openai")
HOME = Path(tempfile.mkdtemp(prefix="raycast-ai-scripted-"))
OTHER = ModelEntry(id="openai-gpt-4o", model="gpt-4o", provider="openai", name="GPT-4o")


class ScriptedClient:
    """Stands in for AsyncRaycastClient: every chat streams `events`."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        self.closed = 0
        self.settings = SimpleNamespace(home=HOME)  # where the gateway keeps usage

    async def models(self, *, refresh: bool = False) -> Catalog:
        return Catalog((ENTRY, OTHER))

    def stream(self, messages: Any, model: Any = None, **kwargs: Any) -> AsyncChatStream:
        async def batches() -> AsyncIterator[list[Event]]:
            try:
                for event in self.events:
                    yield [event]
            finally:
                self.closed += 1

        return AsyncChatStream.from_batches(ENTRY, batches())


async def post(events: Sequence[Event], *, stream: bool = True) -> httpx2.Response:
    client = ScriptedClient(events)
    app = create_app(GatewaySettings(), client=client)  # type: ignore[arg-type]
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as http:
        body = {"model": ENTRY.id, "stream": stream, "messages": [{"role": "user", "content": "x"}]}
        response = await http.post("/v1/chat/completions", json=body)
    assert client.closed == 1
    return response


def data(response: httpx2.Response) -> list[Any]:
    out: list[Any] = []
    for event in response.text.split("\n\n"):
        if event.startswith("data: "):
            payload = event[len("data: ") :]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def content(response: httpx2.Response) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in data(response)[:-1]
        if c.get("choices")
    )


OPENING: list[Event] = [Notice("provider_status", "operational"), Notice("ping")]


async def test_opening_notices_are_not_forwarded() -> None:
    response = await post([*OPENING, TextDelta("hi"), Finish("stop")])
    assert response.status_code == 200
    assert ": ping" not in response.text
    assert "operational" not in response.text
    assert content(response) == "hi"


async def test_a_long_think_commits_on_a_ping_and_forwards_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat_module, "PING_PATIENCE", 0.0)
    response = await post([Notice("ping"), Notice("ping"), TextDelta("done"), Finish("stop")])
    assert response.status_code == 200
    assert response.text.count(": ping\n\n") == 2
    assert content(response) == "done"


async def test_a_reroute_after_the_first_token_is_not_content() -> None:
    events: list[Event] = [
        TextDelta("a"),
        Notice("model_updated", "Rerouted to GPT-4o"),
        Notice("tool_used", "Searching in Google..."),
        TextDelta("b"),
        Finish("stop"),
    ]
    response = await post(events)
    assert "x-raycast-rerouted" not in response.headers
    assert content(response) == "ab"
    assert "Rerouted" not in response.text
    assert "Searching" not in response.text


async def test_a_reroute_header_is_printable_ascii() -> None:
    events: list[Event] = [
        Notice("model_updated", "Umgeleitet zu »GPT-4o«\r\nX: y"),
        Finish("stop"),
    ]
    response = await post(events, stream=False)
    assert response.headers["x-raycast-rerouted"] == "Umgeleitet zu ?GPT-4o???X: y"


async def test_usage_is_never_null_an_estimate_says_so() -> None:
    """`llm` crashes on `usage: null` after a tool call; zeros would be a lie."""
    whole = await post(
        [ToolCallDelta(0, "call_1", "lookup", '{"q": "x"}'), Finish("stop")], stream=False
    )
    assert whole.headers["x-raycast-usage"] == "estimated"
    usage = whole.json()["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    with_usage = await post([TextDelta("a"), Usage(3, 1), Finish("stop")], stream=False)
    assert with_usage.json()["usage"] == {
        "prompt_tokens": 3,
        "completion_tokens": 1,
        "total_tokens": 4,
    }
    assert "x-raycast-usage" not in with_usage.headers


@pytest.mark.parametrize("stream", [True, False])
async def test_a_rerouted_answer_names_the_model_that_answered(stream: bool) -> None:
    events: list[Event] = [
        Notice("provider_status"),
        Notice("model_updated", "Your plan does not include it: rerouted to GPT-4o."),
        TextDelta("hi"),
        Finish("stop"),
    ]
    response = await post(events, stream=stream)
    assert response.headers["x-raycast-rerouted"].endswith("rerouted to GPT-4o.")
    if stream:
        chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line[6:7] == "{"]
        assert {c["model"] for c in chunks} == {"openai-gpt-4o"}
        assert content(response) == "hi"
    else:
        assert response.json()["model"] == "openai-gpt-4o"
        assert response.json()["choices"][0]["message"]["content"] == "hi"
