"""OpenAI-style messages and options to the exact bytes and headers of a Raycast chat request."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .catalog import Catalog, ModelEntry
from .errors import InvalidRequestError
from .files import ATTACHMENT_PART, UPLOADED_PART, attachment_entries
from .remote import check_model, remote_tool_names
from .signing import GET_BODY, encode_json, signed_headers

if TYPE_CHECKING:
    from .structured import OutputSchema

CHAT_PATH = "/api/v1/ai/chat_completions"
MODELS_PATH = "/api/v1/ai/models"
USER_AGENT = "Raycast/1.104.20 (macOS Version 26.5.1 (Build 25F80))"
EXPERIMENTAL = "autoModels, chatBranching, mcpHTTPServer"

# Where OpenAI system messages go: "additional" keeps the app's markdown preset and puts the text
# into additional_system_instructions (what the app does); "instruction" replaces the preset with
# the text (what most relays do); "message" sends them as author "system" (accepted: unknown).
SystemStrategy = Literal["additional", "instruction", "message"]
SYSTEM_STRATEGIES: tuple[str, ...] = ("additional", "instruction", "message")


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """How to ask. `remote_tools` names Raycast's own tools (`protocol.remote.KNOWN_REMOTE_TOOLS`:
    web_search, read_page, gpt_image, ...), offered after the local ones; an unknown name is
    an error, while a raw `{"type": "remote_tool", "name": ...}` entry in `tools` is sent
    unchecked. `tool_choice` `{"type": "remote_tool", "name": ...}` forces one of them: only
    that tool is offered, with tool_choice "required"."""

    temperature: float | None = None
    reasoning_effort: str | None = None
    tools: Sequence[Mapping[str, Any]] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    system_strategy: SystemStrategy = "additional"
    locale: str = "en-US"
    source: str = "ai_chat"
    thread_id: str | None = None
    # Structured output: the clients turn it into a forced tool or an instruction (see
    # protocol.structured) and validate the answer; `build_chat_request` never sees it.
    output: OutputSchema | None = None
    remote_tools: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    body: bytes
    thread_id: str
    message_id: str
    local_tools: frozenset[str] = field(default_factory=frozenset)
    remote_tools: frozenset[str] = field(default_factory=frozenset)


def new_id() -> str:
    return str(uuid.uuid4()).upper()


def build_chat_request(
    messages: Sequence[Mapping[str, Any]],
    model: ModelEntry,
    options: ChatOptions = ChatOptions(),
    *,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> ChatRequest:
    """`catalog`, when given, names models that can in the error for one that cannot."""
    if not messages:
        raise InvalidRequestError("There are no messages to send.")
    if options.output is not None:
        raise InvalidRequestError(
            "Structured output takes more than one request: send it with a client's "
            "complete() or stream(), which drive protocol.structured.StructuredRun."
        )
    if options.system_strategy not in SYSTEM_STRATEGIES:
        raise InvalidRequestError(
            f"Unknown system strategy '{options.system_strategy}'; "
            f"use one of {', '.join(SYSTEM_STRATEGIES)}."
        )
    converted, system_texts = _convert_messages(messages, options.system_strategy)
    if not converted:
        raise InvalidRequestError("There is no user or assistant message to send.")
    instruction = "markdown"
    additional = "\n\n".join(system_texts)
    if options.system_strategy == "instruction" and system_texts:
        instruction, additional = system_texts[0], "\n\n".join(system_texts[1:])
    remote = remote_tool_names(options.remote_tools)
    tools, tool_choice = _convert_tools(options.tools, options.tool_choice, remote)
    offered = {t["name"] for t in tools if t["type"] == "remote_tool"}
    check_model(model, [name for name in remote if name in offered], catalog)
    thread_id = options.thread_id or new_id()
    message_id = new_id()
    body: dict[str, Any] = {
        "additional_system_instructions": additional,
        "current_date": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "debug": False,
        "locale": options.locale,
        "message_id": message_id,
        "messages": converted,
        "model": model.model,
        "provider": model.provider,
        "source": options.source,
        "system_instruction": instruction,
        "thread_id": thread_id,
        "tools": tools,
    }
    if tools:
        body["tool_choice"] = tool_choice
    if options.temperature is not None and model.supports_temperature:
        body["temperature"] = options.temperature
    effort = _reasoning_effort(model, options.reasoning_effort)
    if effort is not None:
        body["reasoning_effort"] = effort
    return ChatRequest(
        body=encode_json(body),
        thread_id=thread_id,
        message_id=message_id,
        local_tools=frozenset(t["function"]["name"] for t in tools if t["type"] == "local_tool"),
        remote_tools=frozenset(t["name"] for t in tools if t["type"] == "remote_tool"),
    )


def base_headers(token: str | None, user_agent: str = USER_AGENT) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "Accept-Language": "en-US,en;q=0.9",
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "X-Raycast-Experimental": EXPERIMENTAL,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def chat_headers(
    body: bytes,
    *,
    token: str | None,
    secret: str | None,
    device_id: str,
    timestamp: int,
    user_agent: str = USER_AGENT,
) -> dict[str, str]:
    headers = base_headers(token, user_agent)
    headers.update(signed_headers(body, secret=secret, device_id=device_id, timestamp=timestamp))
    return headers


def models_headers(
    *, token: str | None, secret: str | None, device_id: str, timestamp: int
) -> dict[str, str]:
    headers = base_headers(token)
    del headers["Content-Type"]
    headers.update(
        signed_headers(GET_BODY, secret=secret, device_id=device_id, timestamp=timestamp)
    )
    return headers


def content_text(content: object, role: str) -> str:
    """Message content as text; parts that are not text raise rather than vanish."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, bytes | bytearray):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
                continue
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise InvalidRequestError(
                    f"A {role} message has a '{kind or type(part).__name__}' content part; "
                    "raycast-ai sends text parts, and files attached to user messages."
                )
        return "\n".join(texts)
    raise InvalidRequestError(f"A {role} message has content of type {type(content).__name__}.")


def _text_and_files(content: object, role: str) -> tuple[str, list[str]]:
    """A message's text, and the ids of the uploaded files of a user message."""
    if role != "user" or not isinstance(content, list | tuple):
        return content_text(content, role), []
    files: list[str] = []
    parts: list[object] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == UPLOADED_PART:
            files.append(str(part["id"]))
        elif kind == ATTACHMENT_PART:
            raise InvalidRequestError(
                "An attachment was not uploaded before the chat request; send it through "
                "RaycastClient or AsyncRaycastClient, which upload attachments first."
            )
        else:
            parts.append(part)
    return content_text(parts, role), files


def _convert_messages(
    messages: Sequence[Mapping[str, Any]], strategy: SystemStrategy
) -> tuple[list[dict[str, Any]], list[str]]:
    converted: list[dict[str, Any]] = []
    system_texts: list[str] = []
    tool_names: dict[str, str] = {}
    for message in messages:
        if not isinstance(message, Mapping):
            raise InvalidRequestError("Each message must be an object with 'role' and 'content'.")
        role = message.get("role")
        text, files = _text_and_files(message.get("content"), str(role))
        if role in ("system", "developer"):
            if strategy == "message":
                converted.append({"author": "system", "content": {"text": text}})
            elif text:
                system_texts.append(text)
        elif role == "user":
            content: dict[str, Any] = {"text": text}
            if files:
                content["attachments"] = attachment_entries(files)
            converted.append({"author": "user", "content": content})
        elif role == "assistant":
            out: dict[str, Any] = {"author": "assistant", "content": {"text": text}}
            calls = message.get("tool_calls")
            if calls:
                out["tool_calls"] = [_assistant_call(c, tool_names) for c in calls]
            converted.append(out)
        elif role in ("tool", "function"):
            call_id = str(message.get("tool_call_id") or "")
            name = message.get("name") or tool_names.get(call_id, "")
            converted.append(
                {
                    "author": "tool",
                    "content": {"text": text},
                    "name": name,
                    "tool_call_id": call_id,
                }
            )
        else:
            raise InvalidRequestError(
                f"Unknown message role {role!r}; use system, user, assistant or tool."
            )
    return converted, system_texts


def _assistant_call(call: object, tool_names: dict[str, str]) -> dict[str, Any]:
    fn = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(call, Mapping) or not isinstance(fn, Mapping) or not fn.get("name"):
        raise InvalidRequestError("An assistant tool call needs an id and a function name.")
    call_id, name = str(call.get("id") or ""), str(fn["name"])
    tool_names[call_id] = name
    arguments: object = fn.get("arguments") or "{}"
    if isinstance(arguments, str):
        # Unparsable arguments are sent as the string they are, as other Raycast clients do.
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    return {"function": {"arguments": arguments, "name": name}, "id": call_id, "type": "function"}


def _convert_tools(
    tools: Sequence[Mapping[str, Any]],
    tool_choice: str | Mapping[str, Any] | None,
    remote: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], str]:
    converted: list[dict[str, Any]] = []
    for tool in tools:
        kind = tool.get("type")
        if kind == "remote_tool" and tool.get("name"):
            converted.append({"name": str(tool["name"]), "type": "remote_tool"})
            continue
        fn = tool.get("function")
        if kind not in ("function", "local_tool") or not isinstance(fn, Mapping):
            raise InvalidRequestError(f"Unsupported tool type {kind!r}; use OpenAI function tools.")
        if not fn.get("name"):
            raise InvalidRequestError("Every function tool needs a name.")
        local: dict[str, Any] = {"name": str(fn["name"])}
        if fn.get("description"):
            local["description"] = str(fn["description"])
        local["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
        converted.append({"function": local, "type": "local_tool"})
    converted = _with_remote(converted, remote)
    if isinstance(tool_choice, Mapping):
        # A forced tool: offer only that tool and require a call, which means the same.
        fn = tool_choice.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else tool_choice.get("name")
        chosen = [t for t in converted if _tool_name(t) == name]
        if not chosen:
            raise InvalidRequestError(f"tool_choice names a tool that is not offered: {name!r}.")
        return chosen, "required"
    if tool_choice == "none":
        return [], "none"
    if tool_choice not in (None, "auto", "required"):
        raise InvalidRequestError(
            f"Unsupported tool_choice {tool_choice!r}; use auto, none, required or a function."
        )
    return converted, tool_choice or "auto"


def _with_remote(converted: list[dict[str, Any]], remote: Sequence[str]) -> list[dict[str, Any]]:
    """The tools with the remote ones added after them, each name once; a local tool named like
    a remote one would make its calls ambiguous, so that is an error."""
    local = {_tool_name(t) for t in converted if t["type"] == "local_tool"}
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for tool in [*converted, *({"name": n, "type": "remote_tool"} for n in remote)]:
        name = _tool_name(tool)
        if tool["type"] == "remote_tool":
            if name in local:
                raise InvalidRequestError(
                    f"A function tool is named {name!r}, like the Raycast remote tool offered "
                    "with it; rename the function."
                )
            if name in seen:
                continue
            seen.add(name)
        out.append(tool)
    return out


def _tool_name(tool: Mapping[str, Any]) -> str:
    if tool["type"] == "remote_tool":
        return str(tool["name"])
    return str(tool["function"]["name"])


def _reasoning_effort(model: ModelEntry, requested: str | None) -> str | None:
    options = model.reasoning_efforts
    if not options:
        return None
    if requested is None:
        return model.default_reasoning_effort
    if requested not in options:
        raise InvalidRequestError(
            f"Model '{model.id}' accepts reasoning effort {', '.join(options)}, not '{requested}'."
        )
    return requested
