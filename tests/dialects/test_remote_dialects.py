"""Every dialect's side of Raycast's remote tools, sans I/O: hosted web search in the request
becomes the `web_search` remote tool; sources and images in the answer become each dialect's
annotations or text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from raycast_ai.dialects import anthropic_messages, openai_chat, openai_responses
from raycast_ai.dialects.anthropic_messages import MessageEncoder
from raycast_ai.dialects.errors import BadRequest
from raycast_ai.dialects.openai_chat import ChunkEncoder
from raycast_ai.dialects.openai_responses_events import ResponsesEncoder
from raycast_ai.protocol.completion import Completion, ToolCall
from raycast_ai.protocol.events import (
    Citation,
    Event,
    Finish,
    ImageLink,
    Notice,
    TextDelta,
    ToolCallDelta,
)

A = Citation("https://a.example/", "Page A", "about a", 1)
B = Citation("https://b.example/", "Page B", "", 2)
IMAGE = ImageLink("https://images.example/fox.png")
SEARCHED: list[Event] = [
    Notice("tool_used", "web_search"),
    A,
    B,
    TextDelta("As [1] says, "),
    TextDelta("and [2]."),
    Finish("stop"),
]


def sse_data(stream: str) -> list[Any]:
    out = []
    for block in stream.split("\n\n"):
        data = next((line for line in block.split("\n") if line.startswith("data: ")), None)
        if data is not None and data != "data: [DONE]":
            out.append(json.loads(data.removeprefix("data: ")))
    return out


# --- chat completions ---------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"search_context_size": "high"}])
def test_chat_web_search_options_offers_web_search(options: dict[str, Any]) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "web_search_options": options}
    chat = openai_chat.parse(json.dumps(body).encode())
    assert chat.options.remote_tools == ("web_search",)
    plain = openai_chat.parse(b'{"messages":[{"role":"user","content":"hi"}]}')
    assert plain.options.remote_tools == ()


def test_chat_stream_annotations_and_images_before_the_finish() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=False)
    frames = sse_data(encoder.start() + encoder.frames([IMAGE, *SEARCHED]) + encoder.end())
    deltas = [f["choices"][0]["delta"] for f in frames]
    text = "".join(d.get("content") or "" for d in deltas)
    assert text == "As [1] says, and [2].\n\n![image](https://images.example/fox.png)"
    (notes,) = [d["annotations"] for d in deltas if "annotations" in d]
    assert notes[0] == {
        "type": "url_citation",
        "url_citation": {
            "start_index": 3,
            "end_index": 6,
            "title": "Page A",
            "url": "https://a.example/",
        },
    }
    assert text[notes[1]["url_citation"]["start_index"] :].startswith("[2]")
    assert frames[-1]["choices"][0]["finish_reason"] == "stop"
    assert not any("tool_calls" in d for d in deltas)


def test_chat_stream_without_a_finish_still_sends_them() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=True)
    frames = sse_data(encoder.start() + encoder.frames([A, TextDelta("x")]) + encoder.end())
    assert any("annotations" in f["choices"][0]["delta"] for f in frames if f["choices"])


def test_chat_body_with_only_an_image() -> None:
    chat = openai_chat.parse(b'{"messages":[{"role":"user","content":"hi"}]}')
    done = Completion("", "m", "stop", images=(IMAGE,))
    message = openai_chat.body(chat, done, "m")["choices"][0]["message"]
    assert message["content"] == "![image](https://images.example/fox.png)"
    assert "annotations" not in message


# --- Responses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool",
    ["web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"],
)
def test_responses_web_search_tools_offer_web_search(tool: str) -> None:
    body = {"model": "m", "input": "hi", "tools": [{"type": tool}, {"type": "file_search"}]}
    chat = openai_responses.parse(json.dumps(body).encode())
    assert chat.options.remote_tools == ("web_search",)
    assert chat.context["responses"].dropped_tools == ("file_search",)


@pytest.mark.parametrize("choice", [{"type": "web_search_preview"}, "web_search"])
def test_responses_forcing_web_search(choice: Any) -> None:
    body = {"model": "m", "input": "hi", "tools": [{"type": "web_search"}], "tool_choice": choice}
    chat = openai_responses.parse(json.dumps(body).encode())
    assert chat.options.tool_choice == {"type": "remote_tool", "name": "web_search"}


def test_responses_stream_annotations_on_the_message() -> None:
    chat = openai_responses.parse(b'{"model":"m","input":"hi","tools":[{"type":"web_search"}]}')
    encoder = ResponsesEncoder(chat, "m", id="resp_x", created=1)
    events = sse_data(encoder.start() + encoder.frames(SEARCHED) + encoder.end())
    added = [e for e in events if e["type"] == "response.output_text.annotation.added"]
    assert [(e["annotation_index"], e["annotation"]["url"]) for e in added] == [
        (0, A.url),
        (1, B.url),
    ]
    assert added[0]["annotation"] == {
        "type": "url_citation",
        "start_index": 3,
        "end_index": 6,
        "title": "Page A",
        "url": "https://a.example/",
    }
    done = [e for e in events if e["type"] == "response.content_part.done"]
    assert done[0]["part"]["annotations"] == [a["annotation"] for a in added]
    final = events[-1]["response"]
    assert final["output"][0]["content"][0]["annotations"] == [a["annotation"] for a in added]
    assert [item["type"] for item in final["output"]] == ["message"]


def test_responses_sources_after_a_tool_call_open_a_message() -> None:
    chat = openai_responses.parse(
        b'{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":{}}]}'
    )
    encoder = ResponsesEncoder(chat, "m", id="resp_x", created=1)
    events = [ToolCallDelta(0, "c1", "f", "{}"), IMAGE, A, Finish("tool_calls")]
    final = sse_data(encoder.start() + encoder.frames(events) + encoder.end())[-1]["response"]
    call, message = final["output"]
    assert call["type"] == "function_call"
    assert message["content"][0]["text"] == "![image](https://images.example/fox.png)"
    assert message["content"][0]["annotations"][0]["url"] == A.url


def test_responses_body_annotations_and_image() -> None:
    chat = openai_responses.parse(b'{"model":"m","input":"hi"}')
    done = Completion("As [1] says.", "m", "stop", citations=(A,), images=(IMAGE,))
    (message,) = openai_responses.body(chat, done, "m", id="resp_y")["output"]
    part = message["content"][0]
    assert part["text"] == "As [1] says.\n\n![image](https://images.example/fox.png)"
    assert part["annotations"] == [
        {"type": "url_citation", "start_index": 3, "end_index": 6, "title": "Page A", "url": A.url}
    ]


# --- Anthropic ----------------------------------------------------------------------------------


def anthropic_request(**fields: Any) -> bytes:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps({**body, **fields}).encode()


@pytest.mark.parametrize("version", ["web_search_20250305", "web_search_20260209"])
def test_anthropic_web_search_server_tool_offers_web_search(version: str) -> None:
    tools = [
        {"type": version, "name": "web_search", "max_uses": 5, "allowed_domains": ["a.example"]},
        {"name": "f", "input_schema": {"type": "object"}},
    ]
    chat = anthropic_messages.parse(anthropic_request(tools=tools))
    assert chat.options.remote_tools == ("web_search",)
    assert [t["function"]["name"] for t in chat.options.tools] == ["f"]


def test_anthropic_forcing_the_web_search_tool() -> None:
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    choice = {"type": "tool", "name": "web_search"}
    chat = anthropic_messages.parse(anthropic_request(tools=tools, tool_choice=choice))
    assert chat.options.tool_choice == {"type": "function", "function": {"name": "web_search"}}


def test_anthropic_other_server_tools_stay_refused() -> None:
    tools = [{"type": "code_execution_20250522", "name": "code_execution"}]
    with pytest.raises(BadRequest, match="except web search"):
        anthropic_messages.parse(anthropic_request(tools=tools))


def test_anthropic_stream_ends_with_images_and_sources_in_the_text_block() -> None:
    encoder = MessageEncoder("msg_1", "m")
    events = sse_data(encoder.start() + encoder.frames([IMAGE, *SEARCHED]) + encoder.end())
    text = "".join(
        e["delta"]["text"] for e in events if e.get("delta", {}).get("type") == "text_delta"
    )
    assert text == (
        "As [1] says, and [2].\n\n![image](https://images.example/fox.png)\n\nSources:\n"
        "1. [Page A](https://a.example/)\n2. [Page B](https://b.example/)"
    )
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["text"]
    assert events[-2]["delta"]["stop_reason"] == "end_turn"


def test_anthropic_sources_after_a_tool_call_open_a_text_block() -> None:
    encoder = MessageEncoder("msg_1", "m")
    stream = encoder.frames([ToolCallDelta(0, "t", "f", "{}"), A, Finish("tool_calls")])
    events = sse_data(encoder.start() + stream + encoder.end())
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["tool_use", "text"]
    text = [e["delta"]["text"] for e in events if e.get("delta", {}).get("type") == "text_delta"]
    assert text == ["Sources:\n1. [Page A](https://a.example/)"]


def test_anthropic_a_stop_sequence_ends_before_the_sources() -> None:
    encoder = MessageEncoder("msg_1", "m", stop_sequences=["says"])
    events = sse_data(encoder.start() + encoder.frames(SEARCHED) + encoder.end())
    text = "".join(
        e["delta"]["text"] for e in events if e.get("delta", {}).get("type") == "text_delta"
    )
    assert text == "As [1] "


def test_anthropic_body_is_one_text_block() -> None:
    chat = anthropic_messages.parse(anthropic_request())
    done = Completion(
        "Answer.", "m", "tool_calls", tool_calls=(ToolCall("t", "f", "{}"),), citations=(A,)
    )
    content = anthropic_messages.body(chat, done, "m")["content"]
    assert content[0] == {
        "type": "text",
        "text": "Answer.\n\nSources:\n1. [Page A](https://a.example/)",
    }
    assert content[1]["type"] == "tool_use"
