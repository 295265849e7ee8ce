"""The Anthropic Messages dialect: bodies parse to the neutral request (a mapping table), events
become Anthropic's named stream events in the order the SDK needs, bodies carry the right
fields, stop sequences cut the text, and errors take Anthropic's shape."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raycast_ai.dialects import anthropic_messages as dialect
from raycast_ai.dialects.anthropic_messages import (
    MessageEncoder,
    MessagesChat,
    body,
    cut,
    encoder,
    error_json,
    parse,
    stop_reason,
)
from raycast_ai.dialects.anthropic_wire import TOOL_ERROR_PREFIX
from raycast_ai.dialects.base import Chat, Dialect
from raycast_ai.dialects.errors import BadRequest, ErrorInfo
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
from raycast_ai.protocol.request import ChatOptions

USER = [{"role": "user", "content": "hi"}]


def request(**fields: Any) -> bytes:
    return json.dumps({"model": "m", "max_tokens": 100, "messages": USER, **fields}).encode()


def events_of(stream: str) -> list[tuple[str, Any]]:
    """(name, data) of each SSE event; every event has an `event:` line and a matching type."""
    out: list[tuple[str, Any]] = []
    for frame in stream.split("\n\n"):
        if not frame:
            continue
        kind_line, data_line = frame.split("\n")
        assert kind_line.startswith("event: ") and data_line.startswith("data: "), frame
        kind, data = kind_line[len("event: ") :], json.loads(data_line[len("data: ") :])
        assert data["type"] == kind
        out.append((kind, data))
    return out


def run(events: list[Event], **options: Any) -> list[tuple[str, Any]]:
    enc = MessageEncoder("msg_1", "model-x", **options)
    return events_of(enc.start() + enc.frames(events) + enc.end())


def names(stream: list[tuple[str, Any]]) -> list[str]:
    out = []
    for kind, data in stream:
        if kind == "content_block_start":
            kind += ":" + data["content_block"]["type"]
        elif kind == "content_block_delta":
            kind = data["delta"]["type"]
        out.append(kind)
    return out


def test_the_module_is_a_dialect() -> None:
    module: Dialect = dialect
    assert module.name == "anthropic-messages"
    assert "max_tokens" in module.request_schema("#/$defs/{model}")["required"]


# -- parse: the mapping table ------------------------------------------------------------------

TOOL = {
    "name": "Write",
    "description": "Writes a file.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"file_path": {"type": "string"}},
        "required": ["file_path"],
        "additionalProperties": False,
    },
}

MAPPING = [
    pytest.param(
        {"messages": [{"role": "user", "content": "hello"}]},
        [{"role": "user", "content": "hello"}],
        id="string content",
    ),
    pytest.param(
        {"system": "be brief"},
        [{"role": "system", "content": "be brief"}, *USER],
        id="system string",
    ),
    pytest.param(
        {
            "system": [
                {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1;"},
                {"type": "text", "text": "one", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "two"},
            ]
        },
        [{"role": "system", "content": "one\n\ntwo"}, *USER],
        id="system blocks, billing header dropped, cache_control ignored",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "<system-reminder>r</system-reminder>"},
                        {"type": "text", "text": "prompt", "cache_control": {"type": "ephemeral"}},
                    ],
                },
                {"role": "user", "content": "more"},
            ]
        },
        [{"role": "user", "content": "<system-reminder>r</system-reminder>\nprompt\nmore"}],
        id="text blocks joined, user neighbours merged",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "write it"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "s"},
                        {"type": "redacted_thinking", "data": "opaque"},
                        {"type": "text", "text": "Creating it."},
                        {
                            "type": "tool_use",
                            "id": "toolu_01",
                            "name": "Write",
                            "input": {"file_path": "/tmp/a", "content": "é"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_01",
                            "content": "done",
                            "is_error": False,
                            "cache_control": {"type": "ephemeral"},
                        },
                        {"type": "text", "text": "thanks"},
                    ],
                },
            ]
        },
        [
            {"role": "user", "content": "write it"},
            {
                "role": "assistant",
                "content": "Creating it.",
                "tool_calls": [
                    {
                        "id": "toolu_01",
                        "type": "function",
                        "function": {
                            "name": "Write",
                            "arguments": '{"file_path":"/tmp/a","content":"é"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_01", "content": "done"},
            {"role": "user", "content": "thanks"},
        ],
        id="tool round trip, thinking dropped, ids kept",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [
                                {"type": "text", "text": "a"},
                                {"type": "text", "text": "b"},
                            ],
                            "is_error": True,
                        }
                    ],
                },
            ]
        },
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "Bash", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": TOOL_ERROR_PREFIX + "a\nb"},
        ],
        id="tool_result blocks and is_error",
    ),
    pytest.param(
        {
            "system": [{"type": "text", "text": "first"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {
                    "role": "system",
                    "content": [
                        {
                            "type": "text",
                            "text": "# Environment",
                            "cache_control": {"type": "ephemeral"},
                        }
                    ],
                },
            ],
        },
        [
            {"role": "system", "content": "first"},
            *USER,
            {"role": "system", "content": "# Environment"},
        ],
        id="a system turn among the messages (Claude Code 2.1.3xx)",
    ),
    pytest.param(
        {
            "messages": [
                *USER,
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]},
                {"role": "user", "content": [{"type": "server_tool_use", "id": "s"}]},
            ]
        },
        USER,
        id="only thinking or unknown blocks leave nothing",
    ),
]


@pytest.mark.parametrize(("fields", "messages"), MAPPING)
def test_messages_map_to_neutral_messages(fields: dict[str, Any], messages: list[Any]) -> None:
    assert parse(request(**fields)).messages == messages


def test_options_and_flags() -> None:
    chat = parse(
        request(
            model="openai_o1-o3",
            stream=True,
            temperature=0.5,
            tools=[TOOL],
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
            thinking={"type": "enabled", "budget_tokens": 31999},
            stop_sequences=["STOP", ""],
            metadata={"user_id": '{"device": "x"}'},
            top_k=5,
            context_management={"edits": []},
            unknown_field={"anything": 1},
        )
    )
    assert isinstance(chat, MessagesChat)
    assert chat.model == "openai_o1-o3"
    assert chat.stream and chat.thinking
    assert chat.stop_sequences == ("STOP",)
    assert chat.options.temperature == 0.5
    assert chat.options.reasoning_effort == "high"
    assert chat.options.tool_choice == "required"
    assert chat.options.tools == [
        {
            "type": "function",
            "function": {
                "name": "Write",
                "description": "Writes a file.",
                "parameters": {
                    "type": "object",
                    "properties": {"file_path": {"type": "string"}},
                    "required": ["file_path"],
                    "additionalProperties": False,
                },
            },
        }
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "Write"}, {"type": "function", "function": {"name": "Write"}}),
        (None, None),
    ],
)
def test_tool_choice(choice: dict[str, Any] | None, expected: object) -> None:
    fields = {"tools": [TOOL]} | ({"tool_choice": choice} if choice else {})
    assert parse(request(**fields)).options.tool_choice == expected


@pytest.mark.parametrize(
    ("fields", "effort", "thinking"),
    [
        ({}, None, False),
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "low", True),
        ({"thinking": {"type": "enabled", "budget_tokens": 4096}}, "medium", True),
        ({"thinking": {"type": "enabled", "budget_tokens": 16383}}, "medium", True),
        ({"thinking": {"type": "enabled", "budget_tokens": 16384}}, "high", True),
        ({"thinking": {"type": "disabled"}}, None, False),
        ({"thinking": {"type": "adaptive"}}, None, True),
        ({"output_config": {"effort": "low"}}, "low", False),
        ({"output_config": {"effort": "max"}}, "high", False),
        ({"thinking": {"type": "adaptive", "display": "omitted"}}, None, False),
        (
            {
                "thinking": {"type": "adaptive", "display": "omitted"},
                "output_config": {"effort": "high"},
            },
            "high",
            False,
        ),
    ],
)
def test_thinking_to_reasoning_effort(
    fields: dict[str, Any], effort: str | None, thinking: bool
) -> None:
    chat = parse(request(**fields))
    assert isinstance(chat, MessagesChat)
    assert (chat.options.reasoning_effort, chat.thinking) == (effort, thinking)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"not json", None),
        (b"[]", None),
        (json.dumps({"model": "m", "messages": USER}).encode(), "max_tokens"),
        (json.dumps({"max_tokens": 5, "messages": USER}).encode(), "model"),
        (request(messages=[]), "messages"),
        (request(messages=[{"role": "tool", "content": "x"}]), "messages.0.role"),
        (request(temperature=1.5), "temperature"),
        (
            request(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "see"},
                            {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
                        ],
                    }
                ]
            ),
            "messages.0.content.1.source.file_id",
        ),
        (
            request(messages=[{"role": "user", "content": [{"type": "document", "source": {}}]}]),
            "messages.0.content.0.source.type",
        ),
        (request(tools=[{"type": "bash_20250124", "name": "bash"}]), "tools.0.type"),
        (request(tools=[TOOL], tool_choice={"type": "tool"}), "tool_choice"),
        (
            request(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "messages.0.content.0",
        ),
        (
            request(messages=[{"role": "user", "content": [{"type": ["text"]}]}]),
            "messages.0.content.0.type",
        ),
        (
            request(
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": [{"type": {"a": 1}}]},
                ]
            ),
            "messages.1.content.0.type",
        ),
    ],
)
def test_refusals_are_400_naming_the_field(body: bytes, param: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(body)
    info = caught.value.info
    assert info.status == 400
    assert info.param == param
    if "image" in body.decode() or "document" in body.decode():
        assert "base64" in info.message


# -- the stream ----------------------------------------------------------------------------------


def test_a_text_stream_is_the_full_event_sequence() -> None:
    stream = run(
        [
            Notice("provider_status"),
            TextDelta("Hel"),
            Notice("ping"),
            TextDelta("lo"),
            Finish("stop"),
        ],
        input_tokens=7,
    )
    assert names(stream) == [
        "message_start",
        "content_block_start:text",
        "text_delta",
        "ping",
        "text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = stream[0][1]["message"]
    assert start["id"] == "msg_1" and start["model"] == "model-x"
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"] == {"input_tokens": 7, "output_tokens": 0}
    assert all(d["index"] == 0 for k, d in stream if k.startswith("content_block"))
    delta = stream[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] > 0  # estimated: Raycast sent none


def test_raycast_usage_wins_over_the_estimate() -> None:
    stream = run([TextDelta("hi"), Usage(11, 22), Finish("stop")], input_tokens=3)
    assert stream[-2][1]["usage"] == {"input_tokens": 11, "output_tokens": 22}


def test_reasoning_is_a_thinking_block_with_a_signature_when_thinking_is_on() -> None:
    events: list[Event] = [ReasoningDelta("let me "), ReasoningDelta("see"), TextDelta("42")]
    stream = run(events, thinking=True)
    assert names(stream) == [
        "message_start",
        "content_block_start:thinking",
        "thinking_delta",
        "thinking_delta",
        "signature_delta",
        "content_block_stop",
        "content_block_start:text",
        "text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert stream[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert stream[4][1]["delta"]["signature"]
    assert [d["index"] for k, d in stream if k == "content_block_stop"] == [0, 1]
    # Without thinking on, reasoning is not shown, but it still counts as output.
    quiet = run(events)
    assert names(quiet)[1:4] == ["content_block_start:text", "text_delta", "content_block_stop"]
    assert (
        quiet[-2][1]["usage"]["output_tokens"]
        > run([TextDelta("42")])[-2][1]["usage"]["output_tokens"]
    )


def test_tool_calls_are_tool_use_blocks_in_order() -> None:
    stream = run(
        [
            TextDelta("Creating it."),
            ToolCallDelta(0, "toolu_a", "Write", ""),
            ToolCallDelta(0, "", "", '{"file_path":'),
            ToolCallDelta(0, "", "", '"/tmp/a"}'),
            ToolCallDelta(1, "", "Bash", '{"command":"ls"}'),
            Finish("tool_calls"),
        ]
    )
    assert names(stream) == [
        "message_start",
        "content_block_start:text",
        "text_delta",
        "content_block_stop",
        "content_block_start:tool_use",
        "input_json_delta",
        "input_json_delta",
        "content_block_stop",
        "content_block_start:tool_use",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    first, second = [d["content_block"] for k, d in stream if k == "content_block_start"][1:]
    assert first == {"type": "tool_use", "id": "toolu_a", "name": "Write", "input": {}}
    assert second["id"].startswith("toolu_") and second["name"] == "Bash"
    parts = [d["delta"]["partial_json"] for k, d in stream if d.get("index") == 1 and "delta" in d]
    assert json.loads("".join(parts)) == {"file_path": "/tmp/a"}
    assert stream[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_a_late_piece_of_an_earlier_call_is_dropped_not_misplaced() -> None:
    stream = run(
        [
            ToolCallDelta(0, "a", "A", "{}"),
            ToolCallDelta(1, "b", "B", "{}"),
            ToolCallDelta(0, "", "", "more"),
        ]
    )
    assert [d["delta"]["partial_json"] for k, d in stream if k == "content_block_delta"] == [
        "{}",
        "{}",
    ]


@pytest.mark.parametrize(
    ("finish", "calls", "stop", "reason"),
    [
        ("stop", False, None, "end_turn"),
        ("", False, None, "end_turn"),
        ("length", True, None, "max_tokens"),
        ("tool_calls", True, None, "tool_use"),
        ("stop", True, None, "tool_use"),
        ("content_filter", False, None, "refusal"),
        ("stop", True, "END", "stop_sequence"),
    ],
)
def test_stop_reasons(finish: str, calls: bool, stop: str | None, reason: str) -> None:
    assert stop_reason(finish, calls, stop) == reason


def test_stop_sequences_cut_the_stream_even_across_pieces() -> None:
    stream = run(
        [TextDelta("one two EN"), TextDelta("D three"), ToolCallDelta(0, "t", "T", "{}")],
        stop_sequences=["END", "never"],
    )
    text = "".join(d["delta"]["text"] for k, d in stream if k == "content_block_delta")
    assert text == "one two "
    assert "content_block_start:tool_use" not in names(stream)
    assert stream[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}


def test_a_stop_sequence_ends_the_message_at_once() -> None:
    enc = MessageEncoder("msg_1", "m", stop_sequences=["END"])
    early = events_of(enc.start() + enc.frames([TextDelta("a END b")]))
    assert names(early)[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert enc.frames([TextDelta("more"), Usage(1, 2), Finish("stop")]) == ""
    assert enc.end() == ""
    assert enc.error(ErrorInfo(502, "broke", "upstream_error")) == ""


def test_held_back_text_is_released_when_no_stop_follows() -> None:
    stream = run([TextDelta("ab E"), TextDelta("x"), TextDelta(" E")], stop_sequences=["END"])
    pieces = [d["delta"]["text"] for k, d in stream if k == "content_block_delta"]
    assert pieces == ["ab ", "Ex", " ", "E"]  # the last "E" is flushed when the block closes
    assert stream[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_cut() -> None:
    assert cut("a STOP b END", ["END", "STOP"]) == ("a ", "STOP")
    assert cut("plain", ["x"]) == ("plain", None)
    assert cut("plain", []) == ("plain", None)


def test_an_empty_answer_is_still_a_whole_message() -> None:
    assert names(run([Finish("stop")])) == ["message_start", "message_delta", "message_stop"]


def test_error_event_in_anthropic_shape() -> None:
    frame = MessageEncoder("msg_1", "m").error(ErrorInfo(503, "Raycast is busy", "upstream_error"))
    assert events_of(frame) == [
        (
            "error",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Raycast is busy"}},
        )
    ]


def test_the_encoder_reads_the_chat() -> None:
    chat = parse(request(stop_sequences=["x"], thinking={"type": "enabled", "budget_tokens": 2000}))
    enc = encoder(chat, "answered-id")
    start = events_of(enc.start())[0][1]["message"]
    assert start["model"] == "answered-id" and start["id"].startswith("msg_")
    assert start["usage"]["input_tokens"] > 0
    plain = encoder(Chat(USER, "m", ChatOptions(), True), "m")  # any dialect's Chat
    assert events_of(plain.frames([ReasoningDelta("hidden")])) == []


texts = st.text(alphabet=st.sampled_from('abEND "\\é\n🚀'), max_size=6)
any_events = st.lists(
    st.one_of(
        st.builds(TextDelta, texts),
        st.builds(ReasoningDelta, texts),
        st.builds(
            ToolCallDelta,
            st.integers(0, 2),
            st.sampled_from(["", "toolu_x"]),
            st.sampled_from(["", "Bash"]),
            texts,
        ),
        st.sampled_from(
            [
                Notice("ping"),
                Notice("provider_status"),
                Finish("stop"),
                Usage(1, 2),
                Citation("https://a.example/", "A [x]"),
                ImageLink("https://i.example/1.png"),
            ]
        ),
    ),
    max_size=15,
)


@given(any_events, st.lists(st.integers(0, 15), max_size=4), st.booleans(), st.booleans())
def test_batching_does_not_change_the_frames(
    events: list[Event], cuts: list[int], thinking: bool, stops: bool
) -> None:
    options: dict[str, Any] = {"thinking": thinking, "stop_sequences": ["END"] if stops else []}
    one = MessageEncoder("msg_1", "m", **options)
    each = one.start() + "".join(one.frames([e]) for e in events) + one.end()
    batched_encoder = MessageEncoder("msg_1", "m", **options)
    bounds = [0, *sorted(cuts), len(events)]
    batched = batched_encoder.start()
    for lo, hi in pairwise(bounds):
        batched += batched_encoder.frames(events[lo:hi])
    batched += batched_encoder.end()
    single = MessageEncoder("msg_1", "m", **options)
    one_by_one = single.start() + "".join(single.event(e) for e in events) + single.end()
    strip = _without_random_parts
    assert strip(batched) == strip(each) == strip(one_by_one)
    # Whatever the events, the stream is well formed: blocks open and close in order.
    stream = events_of(each)
    open_index = None
    seen = -1
    for kind, data in stream:
        if kind == "content_block_start":
            assert open_index is None and data["index"] == seen + 1
            open_index = seen = data["index"]
        elif kind == "content_block_delta":
            assert data["index"] == open_index
        elif kind == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
    assert open_index is None
    assert [k for k, _ in stream][-2:] == ["message_delta", "message_stop"]


def _without_random_parts(stream: str) -> str:
    """The stream with its gateway-made ids and signatures blanked."""
    frames = (f for f in stream.split("\n\n") if '"type":"signature_delta"' not in f)
    return re.sub(r"toolu_[0-9a-f]{24}", "toolu_", "\n\n".join(frames))


@given(st.lists(st.text(max_size=8), max_size=10))
def test_any_text_survives_without_stop_sequences(pieces: list[str]) -> None:
    stream = run([TextDelta(p) for p in pieces])
    text = "".join(d["delta"]["text"] for k, d in stream if k == "content_block_delta")
    assert text == "".join(pieces)


@given(st.lists(texts, max_size=10))
def test_stop_sequences_in_the_stream_cut_where_the_body_cuts(pieces: list[str]) -> None:
    stream = run([TextDelta(p) for p in pieces], stop_sequences=["END", "b\n"])
    text = "".join(d["delta"]["text"] for k, d in stream if k == "content_block_delta")
    expected, stop = cut("".join(pieces), ["END", "b\n"])
    assert text == expected
    assert stream[-2][1]["delta"]["stop_sequence"] == stop


# -- the body ----------------------------------------------------------------------------------


def chat(**fields: Any) -> MessagesChat:
    parsed = parse(request(**fields))
    assert isinstance(parsed, MessagesChat)
    return parsed


def test_body_with_thinking_text_and_tool_use() -> None:
    completion = Completion(
        text="Creating it.",
        model="m",
        finish_reason="tool_calls",
        reasoning="hmm",
        tool_calls=(ToolCall("toolu_a", "Write", '{"file_path":"/tmp/a"}'), ToolCall("", "B", "")),
        usage=Usage(10, 20),
    )
    out = body(chat(thinking={"type": "enabled", "budget_tokens": 1024}), completion, "answered")
    assert out["id"].startswith("msg_")
    assert (out["type"], out["role"], out["model"]) == ("message", "assistant", "answered")
    thinking, text, tool, other = out["content"]
    assert (
        thinking["type"] == "thinking" and thinking["thinking"] == "hmm" and thinking["signature"]
    )
    assert text == {"type": "text", "text": "Creating it."}
    assert tool == {
        "type": "tool_use",
        "id": "toolu_a",
        "name": "Write",
        "input": {"file_path": "/tmp/a"},
    }
    assert other["id"].startswith("toolu_") and other["input"] == {}
    assert (out["stop_reason"], out["stop_sequence"]) == ("tool_use", None)
    assert out["usage"] == {
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_body_without_thinking_or_usage_estimates() -> None:
    completion = Completion(text="fine words", model="m", finish_reason="stop", reasoning="hmm")
    out = body(chat(), completion, "m")
    assert out["content"] == [{"type": "text", "text": "fine words"}]
    assert out["stop_reason"] == "end_turn"
    assert out["usage"]["input_tokens"] > 0 and out["usage"]["output_tokens"] > 0


def test_body_stop_sequence() -> None:
    completion = Completion(
        text="a b END c", model="m", finish_reason="stop", tool_calls=(ToolCall("t", "T", "{}"),)
    )
    out = body(chat(stop_sequences=["END"]), completion, "m")
    assert out["content"] == [{"type": "text", "text": "a b "}]
    assert (out["stop_reason"], out["stop_sequence"]) == ("stop_sequence", "END")


def test_body_with_arguments_that_are_not_an_object() -> None:
    completion = Completion(
        text="", model="m", finish_reason="tool_calls", tool_calls=(ToolCall("t", "T", "[1"),)
    )
    assert body(chat(), completion, "m")["content"][0]["input"] == {}


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (402, "billing_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (405, "invalid_request_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "timeout_error"),
    ],
)
def test_error_types_follow_the_status(status: int, kind: str) -> None:
    info = ErrorInfo(status, "what happened", "whatever_openai_kind", "code", "param")
    assert json.loads(error_json(info)) == {
        "type": "error",
        "error": {"type": kind, "message": "what happened"},
    }


# -- near-valid bodies -----------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=6)


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)


values = st.recursive(scalars, _nested, max_leaves=8)
block_types = st.sampled_from(
    ["text", "tool_use", "tool_result", "thinking", "image", "document", "server_tool_use", "x"]
)
blocks = st.fixed_dictionaries(
    {"type": block_types | values},
    optional={
        "text": st.text(max_size=6) | values,
        "id": st.text(max_size=6) | values,
        "name": st.text(max_size=6) | values,
        "input": values,
        "tool_use_id": st.text(max_size=6) | values,
        "content": values | st.lists(st.fixed_dictionaries({"type": block_types}), max_size=2),
        "is_error": values,
    },
)
near_valid = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["m"]) | values,
        "max_tokens": st.integers(0, 5) | values,
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant", "system", "tool"]),
                    "content": st.text(max_size=6) | st.lists(blocks, max_size=3),
                }
            ),
            max_size=4,
        ),
    },
    optional={
        "system": values
        | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": values})),
        "tools": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=4)},
                optional={"input_schema": values, "type": values, "description": values},
            ),
            max_size=2,
        ),
        "tool_choice": values | st.fixed_dictionaries({"type": block_types, "name": values}),
        "thinking": values
        | st.fixed_dictionaries(
            {"type": st.sampled_from(["enabled", "adaptive"]), "budget_tokens": values}
        ),
        "stop_sequences": values,
        "temperature": values,
    },
)


@given(near_valid)
def test_near_valid_bodies_parse_or_are_400s(fields: dict[str, Any]) -> None:
    refused: ErrorInfo | None = None
    try:
        chat = parse(json.dumps(fields).encode())
    except BadRequest as exc:
        refused = exc.info
    if refused is not None:
        assert refused.status == 400 and refused.message
        return
    assert all(m["role"] in ("system", "user", "assistant", "tool") for m in chat.messages)
    encoder(chat, "m").start()
