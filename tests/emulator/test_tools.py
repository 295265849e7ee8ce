from __future__ import annotations

import json
from typing import Any

import pytest

from raycast_ai.emulator.faults import DirectiveError
from raycast_ai.emulator.stream import event
from raycast_ai.emulator.tools import (
    arguments_for,
    call_id,
    local_tools,
    pick_tool,
    tool_call_chunks,
)
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.events import StreamParser

WEATHER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "Location to get the weather from"},
        "query": {"type": "string", "enum": ["current", "hourly", "daily"]},
        "days": {"type": "integer"},
    },
    "required": ["location", "query"],
}


def test_arguments_fill_required_properties_only() -> None:
    assert arguments_for(WEATHER) == {"location": "Paris", "query": "current"}


def test_arguments_for_every_kind() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "x": {"type": "number"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "nested": {
                "type": "object",
                "properties": {"a": {"type": "number"}},
                "required": ["a"],
            },
            "maybe": {"type": ["null", "string"]},
            "either": {"anyOf": [{"type": "boolean"}, {"type": "string"}]},
            "fixed": {"const": "v1"},
            "loose": {},
        },
        "required": ["n", "x", "ok", "tags", "nested", "maybe", "either", "fixed", "loose"],
    }
    assert arguments_for(schema) == {
        "n": 1,
        "x": 1,
        "ok": True,
        "tags": ["Paris"],
        "nested": {"a": 1},
        "maybe": "Paris",
        "either": True,
        "fixed": "v1",
        "loose": "Paris",
    }
    assert arguments_for(None) == {}
    assert arguments_for({"type": "object"}) == {}


def test_local_tools_and_picking() -> None:
    body = {
        "tools": [
            {"name": "web_search", "type": "remote_tool"},
            {"type": "local_tool", "function": {"name": "a", "parameters": {}}},
            {"type": "local_tool", "function": {"name": "b"}},
            "junk",
        ]
    }
    tools = local_tools(body)
    assert [t["name"] for t in tools] == ["a", "b"]
    assert pick_tool(tools, "")["name"] == "a"
    assert pick_tool(tools, "b")["name"] == "b"
    with pytest.raises(DirectiveError, match="@tool:c"):
        pick_tool(tools, "c")


def test_call_ids_look_native() -> None:
    assert call_id("anthropic", "seed").startswith("toolu_")
    assert len(call_id("google", "seed")) == 8
    assert call_id("openai", "a") != call_id("openai", "b")


def test_anthropic_shape_with_changing_index() -> None:
    arguments = '{"location":"Paris","query":"current"}'
    deltas, summary = tool_call_chunks("anthropic", "toolu_1", "weather", arguments)
    assert deltas[0] == {
        "text": "",
        "finish_reason": None,
        "tool_calls": [
            {
                "index": 2,
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "weather", "arguments": ""},
            }
        ],
    }
    fragments = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:]]
    assert len(fragments) == 3
    assert "".join(fragments) == arguments
    assert all(
        d["tool_calls"][0]["index"] == 2 and d["tool_calls"][0]["id"] == "" for d in deltas[1:]
    )
    assert summary == {
        "finish_reason": "tool_calls",
        "text": "",
        "tool_calls": [
            {"id": "toolu_1", "index": 3, "function": {"name": "weather", "arguments": arguments}}
        ],
    }


def test_gemini_shape_is_one_flat_summary() -> None:
    deltas, summary = tool_call_chunks("google", "f2b10fe1", "weather", "{}")
    assert deltas == []
    assert summary["tool_calls"] == [{"id": "f2b10fe1", "name": "weather", "arguments": "{}"}]


@pytest.mark.parametrize("provider", ["anthropic", "google", "openai"])
def test_the_protocol_parser_rebuilds_one_call(provider: str) -> None:
    arguments = json.dumps({"location": "Paris", "query": "current"}, separators=(",", ":"))
    deltas, summary = tool_call_chunks(provider, "id1", "weather", arguments)
    parser = StreamParser()
    collector = Collector()
    for chunk in [*deltas, summary]:
        for ev in parser.feed(event(chunk)):
            collector.add(ev)
    parser.end()
    done = collector.result("m")
    assert done.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in done.tool_calls] == [("id1", "weather", arguments)]
