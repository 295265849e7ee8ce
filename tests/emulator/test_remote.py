"""The emulator's remote-tool scenario (guessed chunks, see emulator/remote.py) over its socket."""

from __future__ import annotations

import json

import httpx2

from raycast_ai.emulator.remote import IMAGE_NOTICE, SEARCH_NOTICE, image_url, sources
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.events import Citation, ImageLink, StreamParser, ToolCallDelta
from raycast_ai.protocol.request import CHAT_PATH, ChatOptions

from .support import chunks, signed

MODEL = "openai-gpt-4o-mini"


def post(http: httpx2.Client, prompt: str, options: ChatOptions) -> httpx2.Response:
    request, headers = signed(prompt, options=options)
    return http.post(CHAT_PATH, content=request.body, headers=headers)


def test_a_search_streams_the_call_the_notice_the_references_and_a_citing_answer(
    http: httpx2.Client,
) -> None:
    response = post(http, "who won the race? @search", ChatOptions(remote_tools=["web_search"]))
    assert response.status_code == 200
    parsed = chunks(response.content)
    call = parsed[2]["tool_calls"][0]
    assert call["name"] == "web_search"
    assert json.loads(call["arguments"]) == {"query": "who won the race?"}
    assert parsed[3] == {
        "notification_type": "tool_used",
        "notification": SEARCH_NOTICE,
        "text": "",
    }
    assert parsed[4] == {"references": sources("who won the race?"), "text": ""}
    assert parsed[5] == {"text": "According to [1] and [2]: "}
    assert parsed[-1]["finish_reason"] == "stop"

    parser = StreamParser(remote_tools=frozenset({"web_search"}))
    collector = Collector()
    for event in parser.feed(response.content):
        assert not isinstance(event, ToolCallDelta)
        collector.add(event)
    parser.end()
    done = collector.result(MODEL)
    assert [c.url for c in done.citations] == [s["url"] for s in sources("who won the race?")]
    assert done.citations[0] == Citation(
        sources("who won the race?")[0]["url"],
        "Result 1 for “who won the race?”",
        "What page 1 says about who won the race?.",
        1,
    )
    rest = "".join(answer_chunks("who won the race?", MODEL, 11))
    assert done.text == "According to [1] and [2]: " + rest
    assert done.tool_calls == ()


def test_search_needs_the_tool_offered(http: httpx2.Client) -> None:
    parsed = chunks(post(http, "plain @search", ChatOptions()).content)
    assert not any("references" in c or "tool_calls" in c for c in parsed)


def test_required_with_only_web_search_searches_without_a_directive(http: httpx2.Client) -> None:
    options = ChatOptions(remote_tools=["web_search"], tool_choice="required")
    parsed = chunks(post(http, "the news", options).content)
    assert any("references" in c for c in parsed)


def test_an_image_tool_sends_an_image_url(http: httpx2.Client) -> None:
    options = ChatOptions(remote_tools=["web_search", "gpt_image"])
    parsed = chunks(post(http, "a red fox @image", options).content)
    assert parsed[2]["tool_calls"][0]["name"] == "gpt_image"
    assert parsed[3]["notification"] == IMAGE_NOTICE
    assert parsed[4] == {
        "images": [image_url("gpt_image", "a red fox")],
        "image_count": 1,
        "text": "",
    }
    parser = StreamParser()
    events = parser.feed(post(http, "a red fox @image:gpt_image", options).content)
    assert ImageLink(image_url("gpt_image", "a red fox")) in events


def test_an_image_tool_that_is_not_offered_is_a_400(http: httpx2.Client) -> None:
    response = post(http, "a fox @image:flux", ChatOptions(remote_tools=["gpt_image"]))
    assert response.status_code == 400
    assert "does not offer (gpt_image)" in response.text
