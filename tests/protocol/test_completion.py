from __future__ import annotations

import json

from raycast_ai.protocol.completion import Collector, Completion, ToolCall
from raycast_ai.protocol.events import (
    Finish,
    Notice,
    ReasoningDelta,
    StreamParser,
    TextDelta,
    ToolCallDelta,
    Usage,
)


def collect(data: bytes, model: str = "m") -> Completion:
    parser = StreamParser()
    collector = Collector()
    for event in parser.feed(data):
        collector.add(event)
    parser.end()
    return collector.result(model)


def sse(*chunks: dict[str, object]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)


def test_text_reasoning_usage_and_finish() -> None:
    collector = Collector()
    for event in (
        ReasoningDelta("think "),
        ReasoningDelta("hard"),
        TextDelta("Hello, "),
        TextDelta("world"),
        Usage(3, 4),
        Finish("stop"),
    ):
        collector.add(event)
    assert collector.text == "Hello, world"
    assert collector.result("gpt") == Completion(
        text="Hello, world",
        model="gpt",
        finish_reason="stop",
        reasoning="think hard",
        usage=Usage(3, 4),
    )


def test_keep_alive_notices_are_dropped_and_reroutes_kept() -> None:
    collector = Collector()
    collector.add(Notice("ping"))
    collector.add(Notice("provider_status", "operational"))
    collector.add(Notice("model_updated", "Rerouted to GPT-5 mini"))
    result = collector.result("m")
    assert result.notices == (Notice("model_updated", "Rerouted to GPT-5 mini"),)
    assert result.rerouted == Notice("model_updated", "Rerouted to GPT-5 mini")


def test_not_rerouted() -> None:
    assert Collector().result("m").rerouted is None


def test_tool_call_deltas_are_assembled() -> None:
    collector = Collector()
    for event in (
        ToolCallDelta(0, "a", "one", ""),
        ToolCallDelta(1, "b", "two", "{"),
        ToolCallDelta(0, "", "", '{"x":1}'),
        ToolCallDelta(1, "", "", "}"),
    ):
        collector.add(event)
    assert collector.result("m").tool_calls == (
        ToolCall("a", "one", '{"x":1}'),
        ToolCall("b", "two", "{}"),
    )


def test_anthropic_stream_arguments_are_not_doubled() -> None:
    result = collect(
        sse(
            {
                "tool_calls": [
                    {"id": "toolu_1", "index": 2, "function": {"name": "exec", "arguments": ""}}
                ]
            },
            {
                "tool_calls": [
                    {"id": "", "index": 2, "function": {"name": "", "arguments": '{"cmd":"c'}}
                ]
            },
            {
                "finish_reason": "tool_calls",
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "index": 3,
                        "function": {"name": "exec", "arguments": '{"cmd":"cat"}'},
                    }
                ],
            },
        )
    )
    assert result.tool_calls == (ToolCall("toolu_1", "exec", '{"cmd":"cat"}'),)
    assert result.finish_reason == "tool_calls"
    assert result.text == ""


def test_full_text_stream() -> None:
    result = collect(
        sse(
            {"notification_type": "ping", "notification": "", "text": ""},
            {"text": "今"},
            {"text": "天"},
            {
                "text": "",
                "finish_reason": "STOP",
                "usage": {"input_tokens": 2, "output_tokens": 13},
            },
        ),
        model="gemini-3.5-flash",
    )
    assert result == Completion(
        text="今天", model="gemini-3.5-flash", finish_reason="stop", usage=Usage(2, 13)
    )
