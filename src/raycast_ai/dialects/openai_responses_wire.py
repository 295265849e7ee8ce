"""The request side of the OpenAI Responses API (`POST /v1/responses`): the body, validated at the
edge (unknown fields are ignored), and its input items and tools as neutral chat messages.

What the gateway does with each field:

- used: `model`, `input` (a string, or `message` items with text parts of any role, system
  and developer joining the instructions; `function_call` / `custom_tool_call` items and their
  `_output`s as tool calls and results; `reasoning` and hosted-tool items are dropped),
  `instructions`, `stream`, `tools` (`function`; `custom`, as a function with one string
  parameter `input`; `namespace`, flattened to `<namespace>__<name>`), `tool_choice`,
  `reasoning.effort` (clamped to what the model offers), `temperature`, `store`,
  `previous_response_id`, `text.format` `json_object` / `json_schema` (the answer is JSON
  valid for the schema, see `protocol.structured`, or a 502 `invalid_structured_output`);
- `web_search` / `web_search_preview` (and their dated types): Raycast's `web_search` remote
  tool (left out, and named in the header below, for a model that cannot search);
- left out, named in the `x-raycast-dropped-tools` header: tools the gateway cannot run
  (`file_search`, `code_interpreter`, `computer_use_preview`, `mcp`, ...);
- attached (user messages; see `dialects.attachments`): `input_image` parts with a `data:` URL
  in `image_url` (`detail` is ignored), `input_file` parts with `file_data` (a data URL or bare
  base64) and `filename`; an http(s) `image_url` or `file_url` only from a host the gateway
  allows; in a tool's output they become a note, in other roles a 400. A stored response keeps
  a line naming each file (name, type, size), not the file: a continuation through
  `previous_response_id` does not send it again;
- refused with 400: `file_id` references (there is no files API), `item_reference` items,
  `conversation`;
- accepted, echoed in the response and otherwise ignored: `max_output_tokens` (Raycast takes no
  limit), `parallel_tool_calls`, `reasoning.summary`, `text.verbosity`, `top_p`, `metadata`,
  `include`, `truncation`, `background`, `prompt_cache_key`, `user`, and any unknown field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from raycast_ai.protocol.remote import WEB_SEARCH

from . import attachments
from .errors import BadRequest, invalid_request

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAMESPACE_SEPARATOR = "__"
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
ROLES = frozenset({"user", "assistant", "system", "developer"})
FILE_PARTS = frozenset({"input_image", "input_file"})
TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text"})
# Output items of the hosted tools the gateway never offers, and reasoning: nothing to send.
SKIPPED_ITEMS = frozenset(
    {
        "reasoning",
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "computer_call",
        "computer_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "tool_search_call",
        "tool_search_output",
        "compaction",
    }
)
CUSTOM_INPUT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The tool's whole input."}},
    "required": ["input"],
}


class _Edge(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Reasoning(_Edge):
    effort: str | None = None
    summary: str | None = None


class ResponsesRequest(_Edge):
    model: str | None = None
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    stream: StrictBool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: StrictBool | None = None
    reasoning: Reasoning | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = None
    store: StrictBool | None = None
    previous_response_id: str | None = None
    text: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    conversation: str | dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolName:
    """A tool as the client named it; `custom` tools take and give free text (`input`)."""

    name: str
    namespace: str | None = None
    custom: bool = False


@dataclass(slots=True)
class ToolNames:
    """The Raycast-safe name of each offered tool, and back."""

    by_flat: dict[str, ToolName] = field(default_factory=dict)
    _flat: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def add(self, tool: ToolName) -> str:
        key = (tool.namespace, tool.name)
        if key in self._flat:
            return self._flat[key]
        flat = flat_name(tool.name, tool.namespace)
        if flat in self.by_flat:  # two names that clean up the same way
            flat = _bounded(flat, f"{tool.namespace}\0{tool.name}", 55)
        self.by_flat[flat] = tool
        self._flat[key] = flat
        return flat

    def flat(self, name: str, namespace: str | None = None) -> str:
        return self._flat.get((namespace, name)) or flat_name(name, namespace)

    def original(self, flat: str) -> ToolName:
        return self.by_flat.get(flat) or ToolName(flat)


def flat_name(name: str, namespace: str | None = None) -> str:
    raw = f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name
    if SAFE_NAME.match(raw):
        return raw
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", raw) or "tool"
    return cleaned if len(cleaned) <= 64 and cleaned != raw else _bounded(cleaned, raw, 55)


def _bounded(name: str, seed: str, keep: int) -> str:
    return f"{name[:keep]}_{hashlib.sha256(seed.encode()).hexdigest()[:8]}"


@dataclass(frozen=True, slots=True)
class Tools:
    offered: list[dict[str, Any]]
    names: ToolNames
    dropped: tuple[str, ...]
    remote: tuple[str, ...] = ()


def is_web_search(kind: object) -> bool:
    """`web_search`, `web_search_preview` and their dated versions (`web_search_2025_08_26`)."""
    return isinstance(kind, str) and kind.startswith("web_search") and not kind.endswith("_call")


def convert_tools(tools: Sequence[Mapping[str, Any]]) -> Tools:
    """Responses tools as OpenAI chat function tools; hosted tools are left out (`dropped`)."""
    names = ToolNames()
    offered: list[dict[str, Any]] = []
    dropped: list[str] = []
    remote: list[str] = []
    for at, tool in enumerate(tools):
        kind = str(tool.get("type") or "")
        if is_web_search(kind):
            remote.append(WEB_SEARCH)
            continue
        if kind == "namespace":
            namespace = _name(tool, f"tools[{at}]")
            inners = tool.get("tools")
            if not isinstance(inners, list):
                raise _bad(f"'tools[{at}].tools' must be a list of tools.", f"tools[{at}].tools")
            for inner_at, inner in enumerate(inners):
                where = f"tools[{at}].tools[{inner_at}]"
                if not isinstance(inner, Mapping):
                    raise _bad(f"'{where}' must be an object.", where)
                converted = _tool(inner, namespace, names, where)
                if converted is None:
                    dropped.append(f"{namespace}.{inner.get('name') or inner.get('type')}")
                else:
                    offered.append(converted)
            continue
        converted = _tool(tool, None, names, f"tools[{at}]")
        if converted is None:
            dropped.append(str(tool.get("name") or kind or "unknown"))
        else:
            offered.append(converted)
    return Tools(offered, names, tuple(dropped), tuple(dict.fromkeys(remote)))


def _tool(
    tool: Mapping[str, Any], namespace: str | None, names: ToolNames, where: str
) -> dict[str, Any] | None:
    kind = tool.get("type")
    if kind not in ("function", "custom"):
        return None
    custom = kind == "custom"
    flat = names.add(ToolName(_name(tool, where), namespace, custom))
    function: dict[str, Any] = {"name": flat}
    description = str(tool.get("description") or "")
    if custom:
        function["description"] = _custom_description(description, tool.get("format"))
        function["parameters"] = dict(CUSTOM_INPUT_SCHEMA)
    else:
        if description:
            function["description"] = description
        function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def _custom_description(description: str, format: object) -> str:
    """A free-form tool's text, with the grammar its input must follow when it has one."""
    lines = [description] if description else []
    lines.append("Put the tool's whole input, as free text, in the string parameter `input`.")
    if isinstance(format, Mapping) and format.get("type") == "grammar":
        syntax = format.get("syntax") or "lark"
        lines.append(f"The input must match this {syntax} grammar:\n{format.get('definition')}")
    return "\n\n".join(lines)


def convert_tool_choice(
    choice: str | Mapping[str, Any] | None, names: ToolNames, remote: Sequence[str] = ()
) -> Any:
    if choice is None or choice in ("none", "auto", "required"):
        return choice
    kind = choice if isinstance(choice, str) else choice.get("type")
    if is_web_search(kind) and WEB_SEARCH in remote:
        return {"type": "remote_tool", "name": WEB_SEARCH}
    if isinstance(choice, str):
        return "auto"  # a hosted tool's type: that tool is left out
    if kind in ("function", "custom") and choice.get("name"):
        flat = names.flat(str(choice["name"]), _optional_str(choice.get("namespace")))
        if flat not in names.by_flat:
            raise _bad(f"tool_choice names a tool that is not offered: {choice['name']!r}.")
        return {"type": "function", "function": {"name": flat}}
    if kind == "allowed_tools":
        return "required" if choice.get("mode") == "required" else "auto"
    return "auto"


def input_messages(
    value: str | Sequence[Mapping[str, Any]] | None, names: ToolNames
) -> list[dict[str, Any]]:
    """Input items as OpenAI chat messages; an assistant message and the calls after it become
    one message with `tool_calls`."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    messages: list[dict[str, Any]] = []
    for at, item in enumerate(value):
        message = _item(item, names, f"input[{at}]")
        if message is None:
            continue
        last = messages[-1] if messages else None
        if "tool_calls" in message and last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).extend(message["tool_calls"])
        else:
            messages.append(message)
    return messages


def _item(item: Mapping[str, Any], names: ToolNames, where: str) -> dict[str, Any] | None:
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind is not None and not isinstance(kind, str):
        raise _bad(f"'{where}.type' must be a string.", f"{where}.type")
    if kind == "message":
        role = item.get("role")
        if not isinstance(role, str) or role not in ROLES:
            raise _bad(f"'{where}.role' must be user, assistant, system or developer.", where)
        content = item.get("content")
        if role == "user" and isinstance(content, list):
            return {"role": role, "content": _user_content(content, f"{where}.content")}
        return {"role": role, "content": _text(content, f"{where}.content")}
    if kind in ("function_call", "custom_tool_call"):
        call_id, name = _required(item, "call_id", where), _required(item, "name", where)
        if kind == "function_call":
            arguments = item.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments if arguments is not None else {})
        else:
            arguments = json.dumps({"input": str(item.get("input") or "")}, ensure_ascii=False)
        namespace = _optional_str(item.get("namespace")) if kind == "function_call" else None
        function = {"name": names.flat(name, namespace), "arguments": arguments}
        call = {"id": call_id, "type": "function", "function": function}
        return {"role": "assistant", "content": "", "tool_calls": [call]}
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = _text(item.get("output"), f"{where}.output", tool_output=True)
        return {
            "role": "tool",
            "tool_call_id": _required(item, "call_id", where),
            "content": output,
        }
    if kind == "item_reference":
        raise _bad(
            f"'{where}' is an item_reference: this gateway does not look items up; send the "
            "item itself, or chain with previous_response_id.",
            where,
        )
    if kind is None:
        raise _bad(f"'{where}' needs a type (message, function_call, ...).", where)
    return None  # reasoning and hosted-tool items: Raycast has nothing to take them


def _text(content: object, where: str, *, tool_output: bool = False) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"'{where}' must be a string or a list of content parts.", where)
    texts: list[str] = []
    for at, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(kind, str) and kind in TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
        elif tool_output:
            # A tool's image or file cannot reach Raycast; the model learns that it was there.
            texts.append(attachments.omitted(kind))
        elif kind in FILE_PARTS:
            raise attachments.not_in_user_message(kind, f"{where}[{at}]")
        else:
            raise _bad(
                f"'{where}[{at}]' is a '{kind}' part; raycast-ai sends text parts, and images "
                "and files in user messages.",
                f"{where}[{at}]",
            )
    return "\n".join(texts)


def _user_content(content: list[Any], where: str) -> str | list[dict[str, Any]]:
    """A user message's parts: its text, and its images and files as attachment parts."""
    if not any(attachments.part_type(p) in FILE_PARTS for p in content):
        return _text(content, where)
    texts: list[Any] = []
    files: list[dict[str, Any]] = []
    for at, part in enumerate(content):
        kind = attachments.part_type(part)
        if kind in FILE_PARTS:
            files.append(_file(part, f"{where}[{at}]"))
        else:
            texts.append(part)
    text = _text(texts, where)
    return [{"type": "text", "text": text}, *files] if text else files


def _file(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    hint = attachments.DATA_URL_HINT
    if part.get("type") == "input_image":
        if part.get("image_url") is None and part.get("file_id") is not None:
            raise attachments.file_id_refused(f"{where}.file_id", hint)
        return attachments.from_url(part.get("image_url"), f"{where}.image_url", hint)
    filename = part.get("filename")
    data = part.get("file_data")
    if data is None:
        if part.get("file_url") is not None:
            return attachments.from_url(part.get("file_url"), f"{where}.file_url", hint, filename)
        if part.get("file_id") is not None:
            raise attachments.file_id_refused(f"{where}.file_id", hint)
    if isinstance(data, str) and data[:5].lower() == "data:":
        return attachments.from_url(data, f"{where}.file_data", hint, filename)
    return attachments.from_base64(data, f"{where}.file_data", filename=filename)


def clamp_effort(requested: str | None, options: Sequence[str]) -> str | None:
    """The effort among `options` nearest to `requested` (ties go to the higher one), as Codex
    asks for efforts that a Raycast model may not offer."""
    if requested is None or not options or requested in options:
        return requested
    if requested not in EFFORTS:
        return requested  # unknown word: the request builder says what is allowed
    rank = EFFORTS.index(requested)
    known = [o for o in options if o in EFFORTS]
    if not known:
        return requested
    return min(known, key=lambda o: (abs(EFFORTS.index(o) - rank), -EFFORTS.index(o)))


def _name(tool: Mapping[str, Any], where: str) -> str:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(f"'{where}' needs a name.", f"{where}.name")
    return name


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _required(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"'{where}' needs a '{key}'.", f"{where}.{key}")
    return value


def _bad(message: str, param: str | None = None) -> BadRequest:
    return BadRequest(invalid_request(message, param=param))
