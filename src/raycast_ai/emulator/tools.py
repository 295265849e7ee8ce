"""Local tool calls: which tool to call, arguments made from its JSON schema, and the chunks the
call streams in (Anthropic's deltas with an index that changes in the summary; Gemini's single
flat summary).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .faults import DirectiveError
from .instances import instance

START_INDEX = 2  # Anthropic's content-block index: not 0, and one more in the summary
FRAGMENTS = 3


def local_tools(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The `function` objects of the request's local tools, in order."""
    tools = body.get("tools")
    found: list[Mapping[str, Any]] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, Mapping) or tool.get("type") != "local_tool":
            continue
        fn = tool.get("function")
        if isinstance(fn, Mapping) and fn.get("name"):
            found.append(fn)
    return found


def pick_tool(tools: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    """`name` "" picks the first tool."""
    for tool in tools:
        if not name or tool["name"] == name:
            return tool
    offered = ", ".join(str(t["name"]) for t in tools)
    raise DirectiveError(f"@tool:{name} names a tool the request does not offer ({offered}).")


def arguments_for(schema: object) -> dict[str, Any]:
    """Arguments valid for the tool's schema (see `instances`): its required properties, strings
    "Paris", enums their first option, numbers 1, booleans true."""
    value = instance(schema if isinstance(schema, Mapping) else {"type": "object"})
    return value if isinstance(value, dict) else {}


def call_id(provider: str, seed: str) -> str:
    """A provider-native looking id: `toolu_…` (Anthropic style), 8 hex digits for Gemini."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return digest[:8] if provider == "google" else f"toolu_{digest[:24]}"


def tool_call_chunks(
    provider: str, call: str, name: str, arguments: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The delta chunks and the final summary chunk of one tool call."""
    if provider == "google":
        flat = {"id": call, "name": name, "arguments": arguments}
        return [], {"finish_reason": "tool_calls", "text": "", "tool_calls": [flat]}
    start = {
        "text": "",
        "finish_reason": None,
        "tool_calls": [
            {
                "index": START_INDEX,
                "id": call,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ],
    }
    size = max(1, -(-len(arguments) // FRAGMENTS))
    deltas: list[dict[str, Any]] = [start]
    for at in range(0, len(arguments), size):
        fragment = {"name": "", "arguments": arguments[at : at + size]}
        deltas.append({"tool_calls": [{"index": START_INDEX, "id": "", "function": fragment}]})
    summary = {
        "finish_reason": "tool_calls",
        "text": "",
        "tool_calls": [
            {
                "id": call,
                "index": START_INDEX + 1,
                "function": {"name": name, "arguments": arguments},
            }
        ],
    }
    return deltas, summary


def encode_arguments(arguments: Mapping[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
