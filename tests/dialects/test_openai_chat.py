"""The OpenAI chat dialect: bodies parse to the neutral request, events become chunks and
bodies whose frames parse, carry the right fields and lose nothing; usage is never null."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raycast_ai.dialects.errors import BadRequest, ErrorInfo
from raycast_ai.dialects.openai_chat import (
    DONE,
    PING,
    ChunkEncoder,
    body,
    finish_reason,
    usage_dict,
)
from raycast_ai.dialects.openai_chat import (
    parse as parse_request,
)
from raycast_ai.dialects.openai_models import model_list, model_object
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.completion import Completion, ToolCall
from raycast_ai.protocol.events import (
    Citation,
    Event,
    Finish,
    ImageLink,
    Notice,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from raycast_ai.protocol.structured import OutputSchema, json_object


def frames(encoder: ChunkEncoder, events: list[Event]) -> list[str]:
    out = [encoder.start()]
    for event in events:
        frame = encoder.event(event)
        if frame is not None:
            out.append(frame)
    out.append(encoder.end())
    return out


def parse(stream: list[str]) -> list[Any]:
    """The SSE payloads of a stream, JSON-decoded ("[DONE]" kept as is, comments dropped)."""
    payloads: list[Any] = []
    for event in "".join(stream).split("\n\n"):
        if not event or event.startswith(":"):
            continue
        assert event.startswith("data: "), event
        data = event[len("data: ") :]
        payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def test_a_text_stream_has_role_content_finish_and_done() -> None:
    encoder = ChunkEncoder("chatcmpl-1", 1700000000, "openai-gpt-4o-mini", include_usage=False)
    chunks = parse(frames(encoder, [TextDelta("Hel"), TextDelta("lo"), Finish("stop")]))
    assert chunks[-1] == "[DONE]"
    body = chunks[:-1]
    assert {c["id"] for c in body} == {"chatcmpl-1"}
    assert {c["created"] for c in body} == {1700000000}
    assert {c["object"] for c in body} == {"chat.completion.chunk"}
    assert body[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in body[1:3]] == ["Hel", "lo"]
    assert body[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert all("usage" not in c for c in body)


def test_include_usage_adds_a_usage_chunk_with_raycast_numbers() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=True)
    events: list[Event] = [TextDelta("x"), Usage(7, 3, 2), Finish("stop")]
    chunks = parse(frames(encoder, events))
    assert chunks[-1] == "[DONE]"
    usage_chunk = chunks[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 3,
        "total_tokens": 10,
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert all(c["usage"] is None for c in chunks[:-2])


def test_usage_is_estimated_and_says_so_when_raycast_sent_none() -> None:
    messages = [{"role": "user", "content": "Count these four words"}]
    encoder = ChunkEncoder("c", 1, "m", include_usage=True, messages=messages)
    said = [TextDelta("One two"), TextDelta(" three"), Finish("stop")]
    chunks = parse(frames(encoder, said))
    assert chunks[-2]["choices"] == []
    assert chunks[-2]["usage"] == {
        "prompt_tokens": 3 + 3 + 1 + 4,
        "completion_tokens": 3,
        "total_tokens": 14,
        "estimated": True,
    }


def test_reasoning_goes_to_reasoning_content() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=False)
    chunk = json.loads(encoder.event(ReasoningDelta("hmm"))[len("data: ") :])  # type: ignore[index]
    assert chunk["choices"][0]["delta"] == {"reasoning_content": "hmm"}


def test_tool_calls_first_fragment_full_then_arguments_only() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=False)
    events: list[Event] = [
        ToolCallDelta(0, "toolu_1", "get_weather", ""),
        ToolCallDelta(0, "", "", '{"city":'),
        ToolCallDelta(0, "", "", '"Paris"}'),
        ToolCallDelta(1, "", "lookup", "{}"),
        Finish("stop"),
    ]
    chunks = parse(frames(encoder, events))[1:-1]
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[:4]]
    assert calls[0] == {
        "index": 0,
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert calls[1] == {"index": 0, "function": {"arguments": '{"city":'}}
    assert calls[2] == {"index": 0, "function": {"arguments": '"Paris"}'}}
    assert calls[3]["id"].startswith("call_")
    assert calls[3]["function"]["name"] == "lookup"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_notices_never_become_content() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=False)
    assert encoder.event(Notice("tool_used", "Searching in Google...")) is None
    assert encoder.event(Notice("provider_status", "operational")) is None
    assert encoder.event(Notice("model_updated", "Rerouted to GPT-4o")) is None
    assert encoder.event(Notice("ping")) == PING


def test_only_the_first_finish_counts() -> None:
    encoder = ChunkEncoder("c", 1, "m", include_usage=False)
    assert encoder.event(Finish("stop")) is not None
    assert encoder.event(Finish("length")) is None


def test_error_frame_then_done() -> None:
    text = ChunkEncoder.error(ErrorInfo(502, "boom", "upstream_error", "incomplete_stream"))
    assert parse([text]) == [
        {
            "error": {
                "message": "boom",
                "type": "upstream_error",
                "param": None,
                "code": "incomplete_stream",
            }
        },
        "[DONE]",
    ]
    assert text.endswith(DONE)


@given(st.lists(st.text(), max_size=20), st.text(min_size=1))
def test_any_text_survives_the_encoding(pieces: list[str], model: str) -> None:
    encoder = ChunkEncoder("chatcmpl-x", 5, model, include_usage=False)
    chunks = parse(frames(encoder, [TextDelta(p) for p in pieces]))
    contents = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert contents == pieces
    assert {c["model"] for c in chunks[:-1]} == {model}
    # ASCII on the wire: no text can produce bytes that are not UTF-8.
    assert "".join(frames(encoder, [TextDelta(p) for p in pieces])).isascii()


def test_finish_reasons_are_openai_values() -> None:
    assert finish_reason("stop", False) == "stop"
    assert finish_reason("stop", True) == "tool_calls"
    assert finish_reason("length", True) == "length"
    assert finish_reason("safety", False) == "content_filter"
    assert finish_reason("weird_provider_value", False) == "stop"


def test_usage_dict() -> None:
    assert usage_dict(Usage(1, 2)) == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
    }


CHAT = parse_request(b'{"messages":[{"role":"user","content":"Say hello to the world"}]}')


def test_completion_body_text_and_tool_calls() -> None:
    done = Completion(text="hi", model="m", finish_reason="stop", reasoning="because")
    answer = body(CHAT, done, "answering-model")
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "answering-model"
    assert answer["id"].startswith("chatcmpl-")
    assert answer["choices"][0]["message"] == {
        "role": "assistant",
        "content": "hi",
        "reasoning_content": "because",
    }
    # Raycast reported none: estimated locally (prompt framing + words; "hi" + "because").
    assert answer["usage"] == {
        "prompt_tokens": 3 + 3 + 1 + 5,
        "completion_tokens": 2,
        "total_tokens": 14,
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    called = Completion(
        text="",
        model="m",
        finish_reason="tool_calls",
        tool_calls=(ToolCall("toolu_1", "f", '{"a":1}'),),
        usage=Usage(4, 5),
    )
    answer = body(CHAT, called, "m")
    message = answer["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert answer["usage"]["total_tokens"] == 9


def test_model_objects() -> None:
    entry = ModelEntry(
        id="groq-openai/gpt-oss-20b",
        model="openai/gpt-oss-20b",
        provider="groq",
        name="GPT OSS 20B",
        context=128,
        abilities={"reasoning_effort": {"supported": True, "options": ["low", "high"]}},
    )
    obj = model_object(entry)
    assert obj["id"] == "groq-openai/gpt-oss-20b"
    assert obj["object"] == "model"
    assert obj["owned_by"] == "groq"
    assert obj["created"] == 0
    assert obj["context_window"] == 128
    assert obj["reasoning_efforts"] == ["low", "high"]
    assert model_list([entry]) == {"object": "list", "data": [obj]}


any_events = st.lists(
    st.builds(TextDelta, st.text(max_size=4))
    | st.builds(ReasoningDelta, st.text(max_size=4))
    | st.builds(ToolCallDelta, st.integers(0, 2), st.sampled_from(["c1", "c2"]), st.text())
    | st.builds(Notice, st.sampled_from(["ping", "model_updated", "provider_status"]))
    | st.builds(Finish, st.sampled_from(["stop", "length"]))
    | st.builds(Usage, st.integers(0, 9), st.integers(0, 9))
    | st.builds(Citation, st.sampled_from(["https://a.example/", "https://b.example/"]))
    | st.builds(ImageLink, st.just("https://i.example/1.png")),
    max_size=12,
)


@given(any_events, st.lists(st.integers(0, 12), max_size=4))
def test_batched_frames_are_the_frames_of_each_event(events: list[Event], cuts: list[int]) -> None:
    """How the events of a stream were batched by reads never shows in what is sent."""
    points = sorted({0, len(events), *(c for c in cuts if c <= len(events))})
    batched = ChunkEncoder("chatcmpl-x", 5, "m", include_usage=True)
    one_by_one = ChunkEncoder("chatcmpl-x", 5, "m", include_usage=True)
    sent = "".join(batched.frames(events[a:b]) for a, b in pairwise(points))
    assert sent == "".join(f for e in events if (f := one_by_one.event(e)) is not None)
    assert batched.end() == one_by_one.end()


def test_response_format_becomes_the_output_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    body = {"messages": [{"role": "user", "content": "x"}]}
    formats: list[tuple[Any, OutputSchema | None]] = [
        (None, None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, json_object()),
        (
            {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
            OutputSchema(schema, "place"),
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "p", "schema": schema, "strict": True}},
            OutputSchema(schema, "p", strict=True),
        ),
        ({"type": "json_schema", "json_schema": {"name": "any"}}, json_object()),
    ]
    for format, output in formats:
        chat = parse_request(json.dumps({**body, "response_format": format}).encode())
        assert chat.options.output == output


@pytest.mark.parametrize(
    ("format", "param"),
    [
        ({"type": "yaml"}, "response_format"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"schema": 3}},
            "response_format.json_schema.schema",
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": {"required": "a"}}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_a_response_format_that_cannot_be_built_is_a_400(format: Any, param: str) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "response_format": format}
    with pytest.raises(BadRequest) as raised:
        parse_request(json.dumps(body).encode())
    assert raised.value.info.status == 400
    assert raised.value.info.param == param
