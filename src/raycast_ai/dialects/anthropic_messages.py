"""The Anthropic Messages dialect (`POST /v1/messages`), sans I/O: a request body to the
neutral `Chat`, typed Raycast events to Anthropic's named stream events or one `message` body,
and errors to Anthropic's error body.

The request's fields are described in `anthropic_wire`. Answers: text becomes text blocks,
reasoning thinking blocks (only when the request turned thinking on; their `signature` is an
opaque value made by the gateway, which nothing verifies), tool calls `tool_use` blocks with
Raycast's call ids. What Raycast's remote tools give (web search sources, image URLs) ends the
answer as text: Markdown images, then a numbered "Sources:" list of links (no
`web_search_tool_result` blocks: their `encrypted_content` cannot be made up).
`stop_sequences` are cut here: text stops before the first one and the message ends there with
`stop_reason: "stop_sequence"` (what Raycast streams after it is read but not sent on). `usage`
is Raycast's when it reports one, else a local estimate (`message_start` always carries the
estimated input tokens).
"""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from pydantic import ValidationError

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
from raycast_ai.protocol.remote import markdown_extras
from raycast_ai.protocol.tokens import estimate_tokens

from .anthropic_wire import MessagesChat, MessagesRequest, input_tokens, to_chat
from .base import Chat
from .errors import ErrorInfo, validation_error

log = logging.getLogger("raycast_ai.dialects")

name = "anthropic-messages"

PING = 'event: ping\ndata: {"type":"ping"}\n\n'
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


# Ids need to be unique, not secret (see openai_chat.completion_id).
def message_id() -> str:
    return f"msg_{random.getrandbits(96):024x}"


def tool_use_id() -> str:
    return f"toolu_{random.getrandbits(96):024x}"


def signature() -> str:
    return base64.b64encode(random.getrandbits(384).to_bytes(48, "big")).decode()


def parse(body: bytes) -> MessagesChat:
    try:
        request = MessagesRequest.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(
            exc, "a JSON object with 'model', 'max_tokens' and 'messages'"
        ) from None
    return to_chat(request)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _event(kind: str, data: str) -> str:
    return f"event: {kind}\ndata: {data}\n\n"


def stop_reason(finish: str | None, tool_calls: bool, stop_sequence: str | None) -> str:
    if stop_sequence is not None:
        return "stop_sequence"
    if finish in ("length", "max_tokens"):
        return "max_tokens"
    if finish in ("content_filter", "safety"):
        return "refusal"
    return "tool_use" if tool_calls else "end_turn"


def cut(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    """`text` up to the first stop sequence in it, and that sequence (or None)."""
    hits = [(at, s) for s in stops if (at := text.find(s)) >= 0]
    if not hits:
        return text, None
    at, stop = min(hits)
    return text[:at], stop


def _settings(chat: Chat) -> tuple[bool, tuple[str, ...]]:
    if isinstance(chat, MessagesChat):
        return chat.thinking, chat.stop_sequences
    return False, ()


class MessageEncoder:
    """One stream's Anthropic events (`event: ...\\ndata: ...\\n\\n` strings), event by event.

    Content blocks are opened and closed in order, indexes from 0: a run of text is one text
    block, a run of reasoning one thinking block, each tool call one `tool_use` block. With stop
    sequences, text that could be the start of one is held back until the next text tells.
    """

    __slots__ = (
        "_calls",
        "_citations",
        "_ended",
        "_finish",
        "_images",
        "_index",
        "_input_tokens",
        "_longest",
        "_messages",
        "_model",
        "_open",
        "_pending",
        "_reasoning",
        "_said",
        "_stopped",
        "_stops",
        "_thinking",
        "id",
        "usage",
    )

    def __init__(
        self,
        id: str,
        model: str,
        *,
        messages: Sequence[Mapping[str, Any]] = (),
        input_tokens: int = 0,
        thinking: bool = False,
        stop_sequences: Sequence[str] = (),
    ) -> None:
        self.id = id
        self._model = model
        self._messages = messages
        self._input_tokens = input_tokens
        self._thinking = thinking
        self._stops = tuple(stop_sequences)
        self._longest = max(map(len, self._stops), default=0)
        self._index = -1
        self._open: str | None = None
        self._calls: dict[int, int] = {}
        self._pending = ""
        self._stopped: str | None = None
        self._ended = False
        self._said: list[str] = []
        self._reasoning: list[str] = []
        self._finish: str | None = None
        self.usage: Usage | None = None
        self._citations: list[Citation] = []
        self._images: list[ImageLink] = []

    def start(self) -> str:
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._input_tokens, "output_tokens": 0},
        }
        return _event("message_start", _dumps({"type": "message_start", "message": message}))

    def frames(self, events: Iterable[Event]) -> str:
        """The events of several Raycast events; a run of texts into the open text block, most
        of a stream, is joined in one C call."""
        out: list[str] = []
        texts: list[str] = []
        for event in events:
            if type(event) is TextDelta and self._open == "text" and not self._stops:
                if event.text and not self._ended:
                    texts.append(event.text)
                continue
            if texts:
                out.append(self._texts(texts))
                texts = []
            out.append(self.event(event))
        if texts:
            out.append(self._texts(texts))
        return "".join(out)

    def _texts(self, texts: list[str]) -> str:
        """What `_text` makes of each of `texts`, at once."""
        self._said.extend(texts)
        head = (
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
            f'{self._index},"delta":{{"type":"text_delta","text":'
        )
        return head + ("}}\n\n" + head).join(map(_quote, texts)) + "}}\n\n"

    def event(self, event: Event) -> str:
        if self._ended:
            return ""  # the answer ended at a stop sequence; Raycast's rest is not sent on
        if isinstance(event, Usage):
            self.usage = event
            return ""
        if isinstance(event, TextDelta):
            if not event.text:
                return ""
            opened = self._open_block("text")
            if self._stops:
                return opened + self._text_until_stop(event.text)
            return opened + self._text(event.text)
        if isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
            if not self._thinking or not event.text:
                return ""
            delta = '{"type":"thinking_delta","thinking":' + _quote(event.text) + "}"
            return self._open_block("thinking") + self._delta(delta)
        if isinstance(event, ToolCallDelta):
            return self._tool_call(event)
        if isinstance(event, Finish):
            self._finish = event.reason
        elif isinstance(event, Citation):
            self._citations.append(event)
        elif isinstance(event, ImageLink):
            self._images.append(event)
        elif isinstance(event, Notice) and event.kind == "ping":
            return PING
        return ""

    def _delta(self, delta: str) -> str:
        return (
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
            f'{self._index},"delta":{delta}}}\n\n'
        )

    def _text(self, text: str) -> str:
        self._said.append(text)
        return self._delta('{"type":"text_delta","text":' + _quote(text) + "}")

    def _text_until_stop(self, text: str) -> str:
        pending = self._pending + text
        before, stop = cut(pending, self._stops)
        if stop is not None:
            self._pending, self._stopped = "", stop
            # The message ends here, rather than when Raycast's stream does.
            return (self._text(before) if before else "") + self._ending()
        keep = self._held(pending)
        self._pending = pending[len(pending) - keep :]
        emit = pending[: len(pending) - keep]
        return self._text(emit) if emit else ""

    def _held(self, text: str) -> int:
        """How many of the last characters of `text` could begin a stop sequence."""
        for size in range(min(len(text), self._longest - 1), 0, -1):
            tail = text[-size:]
            if any(s.startswith(tail) for s in self._stops):
                return size
        return 0

    def _tool_call(self, event: ToolCallDelta) -> str:
        out = ""
        block = self._calls.get(event.index)
        if block is None:
            out = self._close()
            self._index += 1
            self._open = "tool_use"
            self._calls[event.index] = self._index
            start = {
                "type": "tool_use",
                "id": event.id or tool_use_id(),
                "name": event.name,
                "input": {},
            }
            out += self._start(_dumps(start))
            self._said.append(event.name)
        elif block != self._index or self._open != "tool_use":
            # Anthropic blocks cannot reopen; Raycast's providers stream calls one after another.
            log.warning("a late piece of tool call %d was dropped", event.index)
            return ""
        if event.arguments:
            self._said.append(event.arguments)
            delta = '{"type":"input_json_delta","partial_json":' + _quote(event.arguments) + "}"
            out += self._delta(delta)
        return out

    def _start(self, block: str) -> str:
        return _event(
            "content_block_start",
            f'{{"type":"content_block_start","index":{self._index},"content_block":{block}}}',
        )

    def _open_block(self, kind: str) -> str:
        if self._open == kind:
            return ""
        out = self._close()
        self._index += 1
        self._open = kind
        if kind == "text":
            return out + self._start('{"type":"text","text":""}')
        return out + self._start('{"type":"thinking","thinking":"","signature":""}')

    def _close(self) -> str:
        if self._open is None:
            return ""
        out = ""
        if self._pending:
            out, self._pending = self._text(self._pending), ""
        elif self._open == "thinking":
            out = self._delta('{"type":"signature_delta","signature":' + _quote(signature()) + "}")
        self._open = None
        stop = f'{{"type":"content_block_stop","index":{self._index}}}'
        return out + _event("content_block_stop", stop)

    def end(self) -> str:
        """The last events: the remote tools' images and sources as text, the open block's
        stop, `message_delta` and `message_stop`."""
        if self._ended:
            return ""
        if not self._images and not self._citations:
            return self._ending()
        # Whether the text block open now has text: then a blank line separates them.
        after = "x" if self._open == "text" else ""
        extra = markdown_extras(after, self._images, self._citations)
        out = self._open_block("text")
        if self._pending:  # held back for a stop sequence that did not come
            out, self._pending = out + self._text(self._pending), ""
        return out + self._text(extra) + self._ending()

    def _ending(self) -> str:
        self._ended = True
        out = self._close()
        reason = stop_reason(self._finish, bool(self._calls), self._stopped)
        usage = self.usage or self.estimated_usage()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": self._stopped},
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        }
        return (
            out
            + _event("message_delta", _dumps(delta))
            + _event("message_stop", '{"type":"message_stop"}')
        )

    def estimated_usage(self) -> Usage:
        reasoning = estimate_tokens("".join(self._reasoning))
        output = sum(map(estimate_tokens, self._said)) + reasoning
        return Usage(self._input_tokens, output, reasoning or None)

    def error(self, info: ErrorInfo) -> str:
        """After a 200 is committed, an error travels as one `error` event; then the end. An
        answer that already ended at a stop sequence is complete: nothing follows."""
        return "" if self._ended else _event("error", error_json(info).decode())


def encoder(chat: Chat, model: str) -> MessageEncoder:
    thinking, stops = _settings(chat)
    return MessageEncoder(
        message_id(),
        model,
        messages=chat.messages,
        input_tokens=input_tokens(chat.messages, chat.options.tools),
        thinking=thinking,
        stop_sequences=stops,
    )


def body(chat: Chat, completion: Completion, model: str) -> dict[str, Any]:
    """The `message` body; `usage` is Raycast's, else estimated (the route says so)."""
    thinking, stops = _settings(chat)
    content: list[dict[str, Any]] = []
    if thinking and completion.reasoning:
        content.append(
            {"type": "thinking", "thinking": completion.reasoning, "signature": signature()}
        )
    text, stopped = cut(completion.text, stops)
    if stopped is None:
        text += markdown_extras(text, completion.images, completion.citations)
    if text:
        content.append({"type": "text", "text": text})
    calls = () if stopped is not None else completion.tool_calls
    content.extend(map(_tool_use, calls))
    prompt = input_tokens(chat.messages, chat.options.tools)
    if completion.usage is not None:
        usage = completion.usage
    else:
        pieces = [text, *(c.name + c.arguments for c in calls)]
        reasoning = estimate_tokens(completion.reasoning)
        usage = Usage(prompt, sum(map(estimate_tokens, pieces)) + reasoning)
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(completion.finish_reason, bool(calls), stopped),
        "stop_sequence": stopped,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _tool_use(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        log.warning("tool call %s has arguments that are not a JSON object", call.name)
        arguments = {}
    return {
        "type": "tool_use",
        "id": call.id or tool_use_id(),
        "name": call.name,
        "input": arguments,
    }


def error_type(info: ErrorInfo) -> str:
    kind = ERROR_TYPES.get(info.status)
    if kind is not None:
        return kind
    return "invalid_request_error" if info.status < 500 else "api_error"


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(info), "message": info.message}}


def error_json(info: ErrorInfo) -> bytes:
    return _dumps(error_body(info)).encode()


def error_status(info: ErrorInfo) -> int:
    """Anthropic's status for the error: Raycast unavailable is its 529 `overloaded_error`, which
    its SDK and Claude Code retry as Anthropic's own overload."""
    return 529 if info.status == 503 else info.status


def request_schema(ref_template: str) -> dict[str, Any]:
    return MessagesRequest.model_json_schema(ref_template=ref_template)
