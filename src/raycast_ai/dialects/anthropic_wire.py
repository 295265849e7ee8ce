"""Request bodies of the Anthropic Messages API, validated at the edge (unknown fields are
ignored), and their conversion to the neutral OpenAI-style messages, tools and options.

What `POST /v1/messages` does with each field:

- used: `model` (a catalog id, a provider model name or an alias), `messages` (text, `tool_use`
  and `tool_result` blocks; `system` turns, which Claude Code sends mid-conversation, join the
  system text), `system` (a string or text blocks), `stream`, `temperature`,
  `stop_sequences` (cut by the gateway), `tools` (client tools), `tool_choice`, `thinking`
  (its budget picks the reasoning effort; reasoning comes back as thinking blocks only when
  thinking is on and its `display` is not "omitted") and `output_config.effort`;
- attached (user turns; see `dialects.attachments`): `image` blocks and `document` blocks with a
  `base64` source (`media_type` as given; a document's `title` is the file name), `text` and
  `content` documents as a text file; a `url` source only from a host the gateway allows; in a
  `tool_result` they become a note, in assistant turns a 400;
- the server tool `web_search_...` (any dated version): Raycast's `web_search` remote tool;
- refused with 400: `file` sources (a Files API id), `search_result` and `container_upload`
  blocks, and other server tools (`bash_...`, `code_execution_...`: a versioned `type`);
- dropped: `thinking` and `redacted_thinking` blocks in the history (Raycast takes no reasoning
  input), a `system` block `x-anthropic-billing-header: ...` (Claude Code's per-run ids) and any
  other block type;
- accepted and ignored: `max_tokens` (required, as Anthropic requires it), `top_p`, `top_k`,
  `metadata`, `cache_control` (on blocks and tools), `service_tier`, `container`,
  `context_management`, `mcp_servers`, `disable_parallel_tool_use`, and any unknown field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from raycast_ai.protocol.remote import WEB_SEARCH
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.protocol.tokens import estimate_message_tokens, estimate_tokens

from . import attachments
from .base import Chat
from .errors import BadRequest, invalid_request

FILE_BLOCKS = frozenset({"image", "document"})
REFUSED_BLOCKS = frozenset({"search_result", "container_upload"})
BILLING_HEADER = "x-anthropic-billing-header:"
TOOL_ERROR_PREFIX = "(the tool reported an error)\n"
EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high"}
LOW_BUDGET = 4096
MEDIUM_BUDGET = 16384


class _Edge(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Message(_Edge):
    # "system": Claude Code (2.1.3xx) puts a mid-conversation system message among the turns.
    role: Literal["user", "assistant", "system"]
    content: str | list[dict[str, Any]]


class SystemBlock(_Edge):
    type: Literal["text"] = "text"
    text: str


class Tool(_Edge):
    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    type: str | None = None


class ToolChoice(_Edge):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None


class Thinking(_Edge):
    type: str
    budget_tokens: int | None = None
    display: str | None = None


class OutputConfig(_Edge):
    effort: str | None = None


class CountTokensRequest(_Edge):
    """`POST /v1/messages/count_tokens`: what shapes the prompt, nothing that samples."""

    model: str
    messages: list[Message] = Field(min_length=1)
    system: str | list[SystemBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None

    @property
    def shows_thinking(self) -> bool:
        thinking = self.thinking
        return (
            thinking is not None
            and thinking.type in ("enabled", "adaptive")
            and thinking.display != "omitted"
        )

    @property
    def effort(self) -> str | None:
        """The reasoning effort asked for; `None` leaves the model's default.

        Chosen without the catalog entry: `build_chat_request` drops an effort for a model
        without reasoning efforts (Claude Code always asks for thinking), and refuses with a 400
        a level that a model does not offer, which no catalog model with efforts lacks among
        low, medium and high."""
        if self.output_config and self.output_config.effort in EFFORTS:
            return EFFORTS[self.output_config.effort]
        thinking = self.thinking
        if thinking is None or thinking.type != "enabled" or thinking.budget_tokens is None:
            return None
        if thinking.budget_tokens < LOW_BUDGET:
            return "low"
        return "medium" if thinking.budget_tokens < MEDIUM_BUDGET else "high"


class MessagesRequest(CountTokensRequest):
    max_tokens: int = Field(ge=1)
    stream: StrictBool = False
    temperature: float | None = Field(default=None, ge=0, le=1)
    stop_sequences: list[str] | None = None


@dataclass(frozen=True, slots=True)
class MessagesChat(Chat):
    """A `Chat` with what only this dialect's answers need."""

    thinking: bool = False
    stop_sequences: tuple[str, ...] = ()


def to_chat(request: MessagesRequest) -> MessagesChat:
    options = ChatOptions(
        temperature=request.temperature,
        reasoning_effort=request.effort,
        tools=to_tools(request.tools),
        tool_choice=to_tool_choice(request.tool_choice),
        remote_tools=remote_tools(request.tools),
    )
    return MessagesChat(
        to_messages(request),
        request.model,
        options,
        request.stream,
        thinking=request.shows_thinking,
        stop_sequences=tuple(s for s in request.stop_sequences or () if s),
    )


def to_messages(request: CountTokensRequest) -> list[dict[str, Any]]:
    """The neutral messages: the system text first, tool results as role `tool` messages."""
    out: list[dict[str, Any]] = []
    system = system_text(request.system)
    if system:
        out.append({"role": "system", "content": system})
    for i, message in enumerate(request.messages):
        blocks = message.content
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        where = f"messages.{i}.content"
        if message.role == "user":
            _user(out, blocks, where)
        elif message.role == "system":
            texts = [
                _text(b, f"{where}.{j}") for j, b in enumerate(blocks) if b.get("type") == "text"
            ]
            if any(texts):
                out.append({"role": "system", "content": "\n\n".join(filter(None, texts))})
        else:
            _assistant(out, blocks, where)
    return out


def system_text(system: str | list[SystemBlock] | None) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    return "\n\n".join(b.text for b in system if b.text and not b.text.startswith(BILLING_HEADER))


def _user(out: list[dict[str, Any]], blocks: Sequence[dict[str, Any]], where: str) -> None:
    texts: list[str] = []
    files: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        kind = _block_type(block, f"{where}.{j}")
        if kind == "text":
            texts.append(_text(block, f"{where}.{j}"))
        elif kind == "tool_result":
            results.append(_tool_result(block, f"{where}.{j}"))
        elif kind in FILE_BLOCKS:
            files.append(_file(block, str(kind), f"{where}.{j}"))
        elif kind in REFUSED_BLOCKS:
            raise _refused(str(kind), f"{where}.{j}")
    # Results answer the assistant's calls, so they go right after it, before any new text.
    out.extend(results)
    if not texts and not files:
        return
    text = "\n".join(texts)
    last = out[-1] if out and out[-1]["role"] == "user" and not results else None
    if last is None:
        out.append({"role": "user", "content": _content(text, files)})
    elif isinstance(last["content"], str) and not files:
        last["content"] += "\n" + text
    else:
        earlier = last["content"]
        if isinstance(earlier, str):
            earlier = [{"type": "text", "text": earlier}]
        last["content"] = [*earlier, *_content(text, files)]


def _block_type(block: Mapping[str, Any], where: str) -> str | None:
    kind = block.get("type")
    if kind is not None and not isinstance(kind, str):
        raise BadRequest(
            invalid_request(f"'{where}.type' must be a string.", param=f"{where}.type")
        )
    return kind


def _content(text: str, files: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A user message's content: its text, and attachment parts when it has files."""
    if not files:
        return text
    return [{"type": "text", "text": text}, *files] if text else files


def _file(block: dict[str, Any], kind: str, where: str) -> dict[str, Any]:
    """An `image` or `document` block as an attachment part (see `dialects.attachments`)."""
    source = block.get("source")
    param = f"{where}.source"
    if not isinstance(source, dict):
        message = f"A {kind} block needs a 'source' ({where})."
        raise BadRequest(invalid_request(message, param=param))
    title = block.get("title") if kind == "document" else None
    hint = attachments.BASE64_HINT
    origin = source.get("type")
    if origin == "base64":
        media_type = source.get("media_type")
        return attachments.from_base64(
            source.get("data"), f"{param}.data", content_type=media_type, filename=title
        )
    if origin == "text" and kind == "document":
        return attachments.from_text(source.get("data"), f"{param}.data", title)
    if origin == "content" and kind == "document":
        return attachments.from_text(_document_text(source.get("content"), param), param, title)
    if origin == "url":
        return attachments.from_url(source.get("url"), f"{param}.url", hint, title)
    if origin == "file":
        raise attachments.file_id_refused(f"{param}.file_id", hint)
    raise BadRequest(
        invalid_request(
            f"A {kind} block's source type {str(origin)[:30]!r} is not supported; send it {hint} "
            f"({param}.type).",
            param=f"{param}.type",
        )
    )


def _document_text(content: object, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(
            invalid_request(f"A content document needs text blocks ({where}).", param=where)
        )
    texts = [
        _text(b, f"{where}.content.{k}")
        for k, b in enumerate(content)
        if isinstance(b, dict) and b.get("type") == "text"
    ]
    return "\n\n".join(texts)


def _assistant(out: list[dict[str, Any]], blocks: Sequence[dict[str, Any]], where: str) -> None:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(blocks):
        kind = _block_type(block, f"{where}.{j}")
        if kind == "text":
            texts.append(_text(block, f"{where}.{j}"))
        elif kind == "tool_use":
            calls.append(_tool_use(block, f"{where}.{j}"))
        elif kind in FILE_BLOCKS:
            raise attachments.not_in_user_message(str(kind), f"{where}.{j}")
        elif kind in REFUSED_BLOCKS:
            raise _refused(str(kind), f"{where}.{j}")
    if not texts and not calls:
        return  # only thinking: Raycast takes no reasoning input
    text = "\n".join(texts)
    last = out[-1] if out else None
    if last is not None and last["role"] == "assistant" and not last.get("tool_calls"):
        last["content"] = "\n".join(filter(None, (last["content"], text)))
        if calls:
            last["tool_calls"] = calls
        return
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    out.append(message)


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise BadRequest(
            invalid_request(f"A text block needs a string 'text' ({where}).", param=where)
        )
    return text


def _tool_use(block: dict[str, Any], where: str) -> dict[str, Any]:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str) or not name:
        raise BadRequest(
            invalid_request(f"A tool_use block needs an 'id' and a 'name' ({where}).", param=where)
        )
    arguments = json.dumps(block.get("input") or {}, ensure_ascii=False, separators=(",", ":"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_result(block: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        raise BadRequest(
            invalid_request(f"A tool_result block needs a 'tool_use_id' ({where}).", param=where)
        )
    content = block.get("content")
    if content is None or isinstance(content, str):
        text = content or ""
    elif isinstance(content, list):
        parts: list[str] = []
        for k, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                parts.append(_text(part, f"{where}.content.{k}"))
            elif kind in FILE_BLOCKS:
                parts.append(attachments.omitted(kind))
            elif kind in REFUSED_BLOCKS:
                raise _refused(str(kind), f"{where}.content.{k}")
        text = "\n".join(parts)
    else:
        raise BadRequest(
            invalid_request(
                f"A tool_result's 'content' must be a string or blocks ({where}).", param=where
            )
        )
    if block.get("is_error"):
        text = TOOL_ERROR_PREFIX + text
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _refused(kind: str, where: str) -> BadRequest:
    return BadRequest(
        invalid_request(
            f"'{kind}' blocks are not supported: send text, or images and documents with a "
            f"base64 source ({where}).",
            param=where,
        )
    )


def is_web_search(tool: Tool) -> bool:
    """Anthropic's web search server tool, in any version (`web_search_20250305`, ...)."""
    return bool(tool.type and tool.type.startswith("web_search_"))


def remote_tools(tools: Sequence[Tool] | None) -> tuple[str, ...]:
    """The Raycast remote tools that the request's server tools stand for."""
    return (WEB_SEARCH,) if any(map(is_web_search, tools or ())) else ()


def to_tools(tools: Sequence[Tool] | None) -> list[dict[str, Any]]:
    """Client tools as OpenAI function tools; web search is a remote tool (`remote_tools`), any
    other server tool (a versioned `type`) a 400."""
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools or ()):
        if is_web_search(tool):
            continue
        if tool.type not in (None, "custom"):
            raise BadRequest(
                invalid_request(
                    f"Server tools ('{tool.type}') are not supported, except web search "
                    "('web_search_...'); offer client tools with an input_schema.",
                    param=f"tools.{i}.type",
                )
            )
        # `$schema` is legal JSON Schema, yet some providers refuse it in a tool's parameters.
        schema = {k: v for k, v in tool.input_schema.items() if k != "$schema"}
        function: dict[str, Any] = {"name": tool.name, "parameters": schema}
        if tool.description:
            function["description"] = tool.description
        out.append({"type": "function", "function": function})
    return out


def to_tool_choice(choice: ToolChoice | None) -> str | dict[str, Any] | None:
    if choice is None:
        return None
    if choice.type == "tool":
        if not choice.name:
            raise BadRequest(
                invalid_request("tool_choice of type 'tool' needs a 'name'.", param="tool_choice")
            )
        return {"type": "function", "function": {"name": choice.name}}
    return {"auto": "auto", "any": "required", "none": "none"}[choice.type]


def input_tokens(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]) -> int:
    """An estimate of the prompt's tokens: the messages' (see protocol.tokens) and the tools'
    JSON. Never exact: Raycast's providers each count with their own tokenizer."""
    listed = [dict(t) for t in tools]
    schema = json.dumps(listed, ensure_ascii=False, separators=(",", ":")) if tools else ""
    return estimate_message_tokens(messages) + estimate_tokens(schema)
