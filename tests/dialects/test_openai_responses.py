"""The OpenAI Responses dialect: bodies parse to the neutral request (tools mapped to
Raycast-safe names and back exactly), events become `response.*` events with rising sequence
numbers and an `output_item.done` for every item, and the stream ends with one terminal event."""

from __future__ import annotations

import contextlib
import json
from itertools import pairwise
from typing import Any

import httpx2
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.dialects.base import Chat
from raycast_ai.dialects.errors import BadRequest, ErrorInfo
from raycast_ai.dialects.openai_responses import (
    ECHOED,
    body,
    output_messages,
    parse,
    with_history,
)
from raycast_ai.dialects.openai_responses_events import PING, ResponsesEncoder, context_of
from raycast_ai.dialects.openai_responses_wire import (
    CUSTOM_INPUT_SCHEMA,
    SAFE_NAME,
    clamp_effort,
    flat_name,
)
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.completion import Completion, ToolCall
from raycast_ai.protocol.errors import InvalidRequestError
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
from raycast_ai.protocol.request import build_chat_request
from raycast_ai.protocol.structured import OutputSchema

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": True,
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}
AGENTS = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Agents.",
    "tools": [
        {"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}},
        {"type": "web_search"},
    ],
}


def request(**fields: Any) -> Chat:
    return parse(json.dumps({"model": "m", **fields}).encode())


def events_of(stream: str) -> list[dict[str, Any]]:
    """The `data` of each SSE event, checked against its `event:` line (comments dropped)."""
    out = []
    for block in stream.split("\n\n"):
        if not block or block.startswith(":"):
            continue
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == name_line.removeprefix("event: ")
        out.append(data)
    return out


def run(chat: Chat, events: list[Event], *, error: ErrorInfo | None = None) -> list[dict[str, Any]]:
    encoder = ResponsesEncoder(chat, "openai-gpt-4o-mini", id="resp_x", created=7)
    sent = encoder.start() + encoder.frames(events)
    sent += encoder.error(error) if error else encoder.end()
    return events_of(sent)


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({"input": "hi"}, [{"role": "user", "content": "hi"}]),
        (
            {"input": "hi", "instructions": "Be brief."},
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        ),
        (
            {
                "input": [
                    {"type": "message", "role": "developer", "content": "Rules.", "id": "m1"},
                    {"role": "user", "content": [{"type": "input_text", "text": "a"}]},
                    {
                        "type": "message",
                        "role": "assistant",
                        "id": "msg_1",
                        "status": "completed",
                        "content": [{"type": "output_text", "text": "b", "annotations": []}],
                    },
                ]
            },
            [
                {"role": "developer", "content": "Rules."},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
            ],
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "run it"},
                    {"type": "reasoning", "id": "rs_1", "summary": []},
                    {"type": "function_call", "call_id": "c1", "name": "exec", "arguments": "{}"},
                    {"type": "function_call", "call_id": "c2", "name": "exec", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "c1", "output": "one"},
                    {
                        "type": "function_call_output",
                        "call_id": "c2",
                        "output": [{"type": "input_text", "text": "two"}],
                    },
                    {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                ]
            },
            [
                {"role": "user", "content": "run it"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "exec", "arguments": "{}"},
                        },
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "exec", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "one"},
                {"role": "tool", "tool_call_id": "c2", "content": "two"},
            ],
        ),
        (
            {
                "input": [
                    {"type": "message", "role": "assistant", "content": "Patching."},
                    {
                        "type": "custom_tool_call",
                        "call_id": "p1",
                        "name": "apply_patch",
                        "input": "*** Begin Patch",
                    },
                    {"type": "custom_tool_call_output", "call_id": "p1", "output": "Done"},
                    {
                        "type": "function_call",
                        "call_id": "s1",
                        "name": "spawn_agent",
                        "namespace": "multi_agent_v1",
                        "arguments": "{}",
                    },
                ]
            },
            [
                {
                    "role": "assistant",
                    "content": "Patching.",
                    "tool_calls": [
                        {
                            "id": "p1",
                            "type": "function",
                            "function": {
                                "name": "apply_patch",
                                "arguments": '{"input": "*** Begin Patch"}',
                            },
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "p1", "content": "Done"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "s1",
                            "type": "function",
                            "function": {"name": "multi_agent_v1__spawn_agent", "arguments": "{}"},
                        }
                    ],
                },
            ],
        ),
    ],
    ids=["string", "instructions", "messages", "function-calls", "custom-and-namespace"],
)
def test_input_items_become_chat_messages(
    fields: dict[str, Any], messages: list[dict[str, Any]]
) -> None:
    assert request(**fields).messages == messages


def test_options_and_echoed_fields() -> None:
    chat = request(
        input="x",
        stream=True,
        temperature=0.3,
        reasoning={"effort": "high", "summary": "auto"},
        max_output_tokens=50,
        parallel_tool_calls=False,
        store=False,
        tool_choice="required",
        tools=[WEATHER],
        client_metadata={"unknown": "ignored"},
        include=["reasoning.encrypted_content"],
    )
    assert chat.stream
    assert chat.options.temperature == 0.3
    assert chat.options.reasoning_effort == "high"
    assert chat.options.tool_choice == "required"
    context = context_of(chat)
    assert not context.store
    assert context.echo["max_output_tokens"] == 50
    assert context.echo["parallel_tool_calls"] is False
    assert context.echo["reasoning"] == {"effort": "high", "summary": "auto"}
    assert request(input="x").context["responses"].store  # stored by default, as OpenAI


def test_tools_map_to_function_tools_and_hosted_ones_are_dropped() -> None:
    chat = request(input="x", tools=[WEATHER, APPLY_PATCH, AGENTS, {"type": "web_search"}])
    offered = [t["function"] for t in chat.options.tools]
    assert [t["name"] for t in offered] == [
        "get_weather",
        "apply_patch",
        "multi_agent_v1__spawn_agent",
    ]
    assert offered[0]["parameters"] == WEATHER["parameters"]
    assert offered[1]["parameters"] == CUSTOM_INPUT_SCHEMA
    assert "lark grammar:\nstart: /.+/" in offered[1]["description"]
    # Web search is Raycast's remote tool; one inside a namespace is not a hosted tool.
    assert chat.options.remote_tools == ("web_search",)
    assert context_of(chat).dropped_tools == ("multi_agent_v1.web_search",)
    # What Raycast receives is valid for the request builder.
    built = json.loads(build_chat_request(chat.messages, MODEL, chat.options).body)
    assert [t.get("function", t)["name"] for t in built["tools"]] == [
        *(t["name"] for t in offered),
        "web_search",
    ]
    assert built["tools"][-1] == {"name": "web_search", "type": "remote_tool"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        (
            {"type": "function", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        (
            {"type": "custom", "name": "apply_patch"},
            {"type": "function", "function": {"name": "apply_patch"}},
        ),
        ({"type": "allowed_tools", "mode": "required", "tools": []}, "required"),
        ({"type": "web_search"}, "auto"),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    chat = request(input="x", tools=[WEATHER, APPLY_PATCH], tool_choice=choice)
    assert chat.options.tool_choice == expected


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "input[0].content[0].image_url",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            "input[0].content[0].file_id",
        ),
        (
            {"input": [{"role": "assistant", "content": [{"type": "input_image"}]}]},
            "input[0].content[0]",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0]"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "x", "tool_choice": {"type": "function", "name": "nope"}}, None),
        ({"input": "x", "temperature": 3}, "temperature"),
    ],
)
def test_refused_bodies_name_the_field(fields: dict[str, Any], param: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        request(**fields)
    assert caught.value.info.status == 400
    assert caught.value.info.param == param


def test_a_tool_output_image_becomes_a_note() -> None:
    chat = request(
        input=[
            {"type": "function_call", "call_id": "c", "name": "view_image", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image"}]},
        ]
    )
    assert "input_image omitted" in chat.messages[-1]["content"]


@pytest.mark.parametrize(
    ("name", "namespace"),
    [
        ("get_weather", None),
        ("spawn_agent", "multi_agent_v1"),
        ("mcp.server/tool name", None),
        ("x" * 80, "ns"),
        ("tool", "ns.with.dots"),
    ],
)
def test_flat_names_are_raycast_safe_and_map_back_exactly(name: str, namespace: str | None) -> None:
    tool = {"type": "function", "name": name, "parameters": {"type": "object"}}
    tools = [{"type": "namespace", "name": namespace, "tools": [tool]}] if namespace else [tool]
    chat = request(input="x", tools=tools)
    (offered,) = chat.options.tools
    flat = offered["function"]["name"]
    assert SAFE_NAME.match(flat)
    assert flat == flat_name(name, namespace)
    added, done = _call_items(chat, flat)
    assert added["name"] == done["name"] == name
    assert done.get("namespace") == namespace


def test_names_that_clean_up_alike_stay_apart() -> None:
    tools = [
        {"type": "function", "name": "a.b", "parameters": {}},
        {"type": "function", "name": "a/b", "parameters": {}},
    ]
    chat = request(input="x", tools=tools)
    flats = [t["function"]["name"] for t in chat.options.tools]
    assert len(set(flats)) == 2
    assert [_call_items(chat, f)[1]["name"] for f in flats] == ["a.b", "a/b"]


def _call_items(chat: Chat, flat: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sent = run(chat, [ToolCallDelta(0, "call_1", flat, '{"a":'), ToolCallDelta(0, "", "", "1}")])
    added = next(e for e in sent if e["type"] == "response.output_item.added")["item"]
    done = next(e for e in sent if e["type"] == "response.output_item.done")["item"]
    return added, done


def test_a_text_stream_is_the_full_event_sequence() -> None:
    sent = run(
        request(input="hi"),
        [Notice("provider_status"), TextDelta("Hel"), TextDelta("lo"), Usage(3, 2), Finish("stop")],
    )
    assert [e["type"] for e in sent] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in sent] == list(range(len(sent)))
    created, final = sent[0]["response"], sent[-1]["response"]
    assert created["status"] == "in_progress"
    assert created["output"] == []
    assert created["usage"] is None
    assert created["id"] == final["id"] == "resp_x"
    assert sent[4]["delta"] == "Hel"
    assert sent[6]["text"] == "Hello"
    item = sent[8]["item"]
    assert item["status"] == "completed"
    assert item["content"] == [{"type": "output_text", "text": "Hello", "annotations": []}]
    assert final["status"] == "completed"
    assert final["output"] == [item]
    assert final["model"] == "openai-gpt-4o-mini"
    assert final["usage"] == {
        "input_tokens": 3,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 5,
    }


def test_reasoning_then_text_then_a_call() -> None:
    chat = request(input="hi", tools=[WEATHER])
    sent = run(
        chat,
        [
            ReasoningDelta("Think"),
            ReasoningDelta("ing"),
            TextDelta("Let me look."),
            ToolCallDelta(0, "toolu_1", "get_weather", '{"city":'),
            ToolCallDelta(0, "", "", '"Paris"}'),
            Finish("tool_calls"),
        ],
    )
    kinds = [e["type"] for e in sent]
    assert kinds[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert sent[4]["summary_index"] == 0
    final = sent[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["reasoning", "message", "function_call"]
    reasoning, _, call = final["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Thinking"}]
    assert call["call_id"] == "toolu_1"
    assert call["arguments"] == '{"city":"Paris"}'
    arguments = [e for e in sent if e["type"].startswith("response.function_call_arguments")]
    assert [e.get("delta") for e in arguments] == ['{"city":', '"Paris"}', None]
    assert arguments[-1]["arguments"] == '{"city":"Paris"}'
    assert arguments[-1]["name"] == "get_weather"
    # Raycast reported no usage: estimated, never null.
    assert final["usage"]["output_tokens"] > 0
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    assert final["usage"]["estimated"] is True


def test_a_custom_tool_call_streams_its_input() -> None:
    chat = request(input="patch", tools=[APPLY_PATCH])
    arguments = json.dumps({"input": "*** Begin Patch\n*** End Patch"})
    sent = run(
        chat,
        [
            ToolCallDelta(0, "toolu_9", "apply_patch", arguments[:10]),
            ToolCallDelta(0, "", "", arguments[10:]),
            Finish("tool_calls"),
        ],
    )
    kinds = [e["type"] for e in sent]
    assert "response.function_call_arguments.delta" not in kinds
    done = next(e for e in sent if e["type"] == "response.custom_tool_call_input.done")
    assert done["input"] == "*** Begin Patch\n*** End Patch"
    item = sent[-1]["response"]["output"][0]
    assert item["type"] == "custom_tool_call"
    assert item["input"] == "*** Begin Patch\n*** End Patch"
    assert item["call_id"] == "toolu_9"
    assert item["name"] == "apply_patch"
    # Sent back as history, the call is the same function call Raycast made.
    history = output_messages(sent[-1]["response"]["output"], context_of(chat).tools)
    assert history[0]["tool_calls"][0]["function"]["name"] == "apply_patch"
    assert json.loads(history[0]["tool_calls"][0]["function"]["arguments"]) == json.loads(arguments)


def test_length_is_incomplete() -> None:
    sent = run(request(input="x"), [TextDelta("a"), Finish("length")])
    assert sent[-1]["type"] == "response.incomplete"
    assert sent[-1]["response"]["status"] == "incomplete"
    assert sent[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_an_error_after_the_start_is_response_failed() -> None:
    info = ErrorInfo(502, "Raycast broke", "upstream_error", "incomplete_stream")
    sent = run(request(input="x"), [TextDelta("partial")], error=info)
    assert [e["type"] for e in sent][-3:] == [
        "response.content_part.done",
        "response.output_item.done",
        "response.failed",
    ]
    failed = sent[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "incomplete_stream", "message": "Raycast broke"}
    assert failed["output"][0]["status"] == "incomplete"
    assert "error" not in sent[-1]  # the SDK raises on a top-level error key
    assert [e["sequence_number"] for e in sent] == list(range(len(sent)))


def test_pings_are_comments() -> None:
    encoder = ResponsesEncoder(request(input="x"), "m", id="resp_x")
    assert encoder.frames([Notice("ping"), Notice("model_updated", "m2")]) == PING


def test_body_holds_every_item() -> None:
    chat = request(input="x", tools=[WEATHER, APPLY_PATCH, AGENTS])
    completion = Completion(
        text="Sure.",
        model="m",
        finish_reason="tool_calls",
        reasoning="hmm",
        tool_calls=(
            ToolCall("c1", "get_weather", '{"city":"Paris"}'),
            ToolCall("c2", "apply_patch", '{"input":"diff"}'),
            ToolCall("", "multi_agent_v1__spawn_agent", "{}"),
        ),
        usage=Usage(10, 5, 2),
    )
    response = body(chat, completion, "m", id="resp_y")
    assert response["object"] == "response"
    assert response["status"] == "completed"
    reasoning, message, weather, patch, spawn = response["output"]
    assert reasoning["summary"][0]["text"] == "hmm"
    assert message["content"][0]["text"] == "Sure."
    assert weather == {
        "id": "fc_y02",
        "type": "function_call",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
        "call_id": "c1",
        "name": "get_weather",
    }
    assert patch["type"] == "custom_tool_call"
    assert patch["input"] == "diff"
    assert spawn["name"] == "spawn_agent"
    assert spawn["namespace"] == "multi_agent_v1"
    assert spawn["call_id"] == "call_y04"
    assert response["usage"]["output_tokens_details"] == {"reasoning_tokens": 2}
    assert response["usage"]["total_tokens"] == 15
    assert "estimated" not in response["usage"]


def test_body_of_an_empty_answer_has_an_empty_message() -> None:
    response = body(request(input="x"), Completion("", "m", "stop"), "m")
    assert response["output"][0]["content"][0]["text"] == ""
    assert response["usage"]["estimated"] is True


def test_history_goes_between_instructions_and_input() -> None:
    chat = request(input="second", instructions="Be brief.")
    history = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"}]
    assert with_history(chat, history).messages == [
        {"role": "system", "content": "Be brief."},
        *history,
        {"role": "user", "content": "second"},
    ]


@pytest.mark.parametrize(
    ("requested", "options", "expected"),
    [
        (None, ("low", "high"), None),
        ("medium", ("low", "medium", "high"), "medium"),
        ("medium", ("low", "high"), "high"),
        ("xhigh", ("low", "medium", "high"), "high"),
        ("minimal", ("none", "low", "medium"), "low"),
        ("medium", (), "medium"),
        ("extreme", ("low",), "extreme"),
    ],
)
def test_clamp_effort(
    requested: str | None, options: tuple[str, ...], expected: str | None
) -> None:
    assert clamp_effort(requested, options) == expected


MODEL = ModelEntry(id="m", model="gpt", provider="openai", name="M")

any_events = st.lists(
    st.builds(TextDelta, st.text(max_size=4))
    | st.builds(ReasoningDelta, st.text(max_size=4))
    | st.builds(
        ToolCallDelta,
        st.integers(0, 2),
        st.sampled_from(["", "c1"]),
        st.sampled_from(["get_weather", "apply_patch", "multi_agent_v1__spawn_agent", "other"]),
        st.text(max_size=6),
    )
    | st.builds(Notice, st.sampled_from(["ping", "model_updated", "provider_status"]))
    | st.builds(Finish, st.sampled_from(["stop", "length", "tool_calls"]))
    | st.builds(Usage, st.integers(0, 9), st.integers(0, 9))
    | st.builds(
        Citation, st.sampled_from(["https://a.example/", "https://b.example/"]), st.text(max_size=3)
    )
    | st.builds(ImageLink, st.just("https://i.example/1.png")),
    max_size=14,
)
TOOL_CHAT = request(input="x", tools=[WEATHER, APPLY_PATCH, AGENTS])


@given(any_events, st.lists(st.integers(0, 14), max_size=4))
def test_batched_frames_are_the_frames_of_each_event(events: list[Event], cuts: list[int]) -> None:
    """How the events of a stream were batched by reads never shows in what is sent."""
    points = sorted({0, len(events), *(c for c in cuts if c <= len(events))})
    batched = ResponsesEncoder(TOOL_CHAT, "m", id="resp_b", created=1)
    one_by_one = ResponsesEncoder(TOOL_CHAT, "m", id="resp_b", created=1)
    sent = batched.start() + "".join(batched.frames(events[a:b]) for a, b in pairwise(points))
    assert sent == one_by_one.start() + "".join(one_by_one.event(e) for e in events)
    assert batched.end() == one_by_one.end()


@given(any_events, st.booleans())
def test_every_item_is_done_once_and_numbers_rise(events: list[Event], fail: bool) -> None:
    encoder = ResponsesEncoder(TOOL_CHAT, "m", id="resp_p", created=1)
    sent = encoder.start() + encoder.frames(events)
    sent += encoder.error(ErrorInfo(502, "x", "upstream_error")) if fail else encoder.end()
    parsed = events_of(sent)
    assert [e["sequence_number"] for e in parsed] == list(range(len(parsed)))
    added = [e["item"]["id"] for e in parsed if e["type"] == "response.output_item.added"]
    done = [e["item"] for e in parsed if e["type"] == "response.output_item.done"]
    assert sorted(added) == sorted(i["id"] for i in done)
    assert len(set(added)) == len(added)
    terminal = [e for e in parsed if e["type"] in TERMINAL]
    assert terminal == [parsed[-1]]
    assert parsed[-1]["response"]["output"] == sorted(done, key=lambda i: i["id"][-2:])
    usage = parsed[-1]["response"]["usage"]
    assert (usage is None) == fail
    # What is kept for `previous_response_id` and `GET` is exactly what was sent.
    assert parsed[-1]["response"] == encoder.response


TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(["get_weather", "apply_patch", "a.b", "ns", ""]) | json_values
parts = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["input_text", "output_text", "refusal", "input_image"])},
        optional={"text": st.text(max_size=5) | json_values, "refusal": json_values},
    )
    | json_values,
    max_size=3,
)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            [
                "message",
                "function_call",
                "function_call_output",
                "custom_tool_call",
                "custom_tool_call_output",
                "reasoning",
                "item_reference",
                "web_search_call",
                "mystery",
            ]
        )
        | json_values,
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]) | json_values,
        "content": st.text(max_size=5) | parts,
        "call_id": st.text(max_size=5) | json_values,
        "name": names,
        "namespace": names,
        "arguments": st.text(max_size=5) | json_values,
        "input": st.text(max_size=5) | json_values,
        "output": st.text(max_size=5) | parts,
        "id": st.text(max_size=5),
    },
)
leaf_tools = st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "custom", "web_search", "mcp"]) | json_values},
    optional={
        "name": names,
        "parameters": json_values,
        "format": json_values,
        "description": json_values,
    },
)
tools = st.lists(
    leaf_tools
    | st.fixed_dictionaries(
        {"type": st.just("namespace")},
        optional={"name": names, "tools": st.lists(leaf_tools, max_size=3) | json_values},
    ),
    max_size=4,
)
choices = st.sampled_from(["auto", "none", "required", "web_search"]) | st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "custom", "allowed_tools"]) | json_values},
    optional={"name": names, "namespace": names, "mode": json_values},
)


@given(
    st.text(max_size=5) | st.lists(items, max_size=5) | json_values,
    tools | json_values,
    choices | json_values,
    st.none() | st.text(max_size=5) | json_values,
)
def test_near_valid_bodies_parse_or_are_400s(
    input: Any, tools: Any, tool_choice: Any, instructions: Any
) -> None:
    """Whatever the JSON, the dialect and the request builder answer a 400 or a request."""
    fields = {"input": input, "tools": tools, "tool_choice": tool_choice}
    fields["instructions"] = instructions
    try:
        chat = request(**fields)
    except BadRequest as exc:
        status = exc.info.status
    else:
        status = 200
        with contextlib.suppress(InvalidRequestError):  # the route answers it with a 400
            build_chat_request(chat.messages, MODEL, chat.options)
    assert status in (200, 400)
    if status == 400:
        return
    assert run(chat, [TextDelta("x"), Finish("stop")])[-1]["type"] == "response.completed"


@pytest.mark.parametrize(
    ("info", "code", "says"),
    [
        (
            ErrorInfo(429, "Out.", "insufficient_quota", "credits_error"),
            "insufficient_quota",
            "Out.",
        ),
        (
            ErrorInfo(
                429,
                "Slow down.",
                "rate_limit_error",
                "rate_limit_exceeded",
                None,
                {"retry-after": "3"},
            ),
            "rate_limit_exceeded",
            "Slow down. Please try again in 3 seconds.",
        ),
        (
            ErrorInfo(400, "Too long.", "invalid_request_error", "context_length_exceeded"),
            "context_length_exceeded",
            "Too long.",
        ),
        (ErrorInfo(504, "Late.", "timeout_error", "upstream_timeout"), "upstream_timeout", "Late."),
    ],
)
def test_failure_codes_are_the_ones_codex_acts_on(info: ErrorInfo, code: str, says: str) -> None:
    failed = run(request(input="x"), [], error=info)[-1]["response"]
    assert failed["error"] == {"code": code, "message": says}


def test_a_json_format_becomes_the_output_schema_and_is_echoed() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    text = {"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": True}}
    chat = request(input="Where?", instructions="Be brief.", text=text)
    assert chat.messages[0] == {"role": "system", "content": "Be brief."}
    assert chat.options.output == OutputSchema(schema, "place", strict=True)
    assert context_of(chat).echo["instructions"] == "Be brief."
    assert context_of(chat).echo["text"] == text
    output = request(input="x", text={"format": {"type": "json_object"}}).options.output
    assert output is not None and output.any_object
    plain = request(input="x", text={"format": {"type": "text"}, "verbosity": "low"})
    assert plain.messages == [{"role": "user", "content": "x"}]
    assert plain.options.output is None


@pytest.mark.parametrize(
    ("format", "param"),
    [
        ({"type": "xml"}, "text.format"),
        ({"type": "json_schema", "name": "x", "schema": {"type": "nope"}}, "text.format.schema"),
        ({"type": "json_schema", "name": "x", "schema": []}, "text.format.schema"),
    ],
)
def test_a_format_that_cannot_be_built_is_a_400(format: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequest) as raised:
        request(input="x", text={"format": format})
    assert raised.value.info.status == 400
    assert raised.value.info.param == param


def sdk_over(stream: str) -> openai.OpenAI:
    """The official client, reading `stream` as the body of any request."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, headers=headers, content=stream.encode())

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return openai.OpenAI(api_key="-", base_url="http://x/v1", http_client=http, max_retries=0)


def distinct_call_ids(events: list[Event]) -> list[Event]:
    """As the protocol guarantees: one call id is one call (one index)."""
    return [
        ToolCallDelta(e.index, e.id and f"c{e.index}", e.name, e.arguments)
        if isinstance(e, ToolCallDelta)
        else e
        for e in events
    ]


@settings(deadline=None)  # the first example builds the SDK's models
@given(any_events.filter(lambda events: Finish("length") not in events).map(distinct_call_ids))
def test_the_sdk_accumulates_any_stream_into_the_final_response(events: list[Event]) -> None:
    """Whatever Raycast sends, `responses.stream()` of the official SDK follows every event and
    ends with the output the gateway would store."""
    # Not strict: the SDK would parse the generated arguments as JSON.
    weather = {**WEATHER, "strict": False}
    tools: Any = [weather, APPLY_PATCH, {**AGENTS, "tools": AGENTS["tools"][:1]}]
    encoder = ResponsesEncoder(request(input="x", tools=tools), "m", id="resp_s", created=1)
    stream = encoder.start() + encoder.frames(events) + encoder.end()
    with (
        sdk_over(stream) as client,
        client.responses.stream(model="m", input="x", tools=tools) as events_seen,
    ):
        seen = [event.type for event in events_seen]
        final = events_seen.get_final_response()
    assert seen[0] == "response.created"
    assert seen[-1] == "response.completed"
    assert encoder.response is not None
    assert [item.model_dump(exclude_none=True) for item in final.output] == [
        {k: v for k, v in item.items() if v is not None} for item in encoder.response["output"]
    ]


def test_a_call_without_arguments_has_an_empty_object() -> None:
    chat = request(input="x", tools=[WEATHER])
    sent = run(chat, [ToolCallDelta(0, "c1", "get_weather", ""), Finish("tool_calls")])
    done = next(e for e in sent if e["type"] == "response.function_call_arguments.done")
    assert done["arguments"] == "{}"
    assert sent[-1]["response"]["output"][0]["arguments"] == "{}"
    completion = Completion("", "m", "tool_calls", tool_calls=(ToolCall("c1", "get_weather", ""),))
    assert body(chat, completion, "m")["output"][0]["arguments"] == "{}"


def test_the_echoed_fields_are_the_ones_a_replay_restores() -> None:
    assert set(context_of(request(input="x")).echo) == set(ECHOED)
