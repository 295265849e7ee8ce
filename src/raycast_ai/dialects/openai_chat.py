"""Typed Raycast events to OpenAI chat-completion chunks and bodies; pure functions, no I/O.

Stream frames are built by string templates rather than `json.dumps` of a dict per event: the
fixed part of a chunk is encoded once per stream and only the delta text is escaped per event.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.completion import Completion
from raycast_ai.protocol.events import (
    Event,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)

from .errors import ErrorInfo

DONE = "data: [DONE]\n\n"
PING = ": ping\n\n"
OPENAI_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter"})
_FINISH_ALIASES = {"safety": "content_filter", "content_filter": "content_filter"}


# Ids need to be unique, not secret: a seeded PRNG spares a getrandom syscall per request.
_random = random.Random()


def completion_id() -> str:
    return f"chatcmpl-{_random.getrandbits(96):024x}"


def tool_call_id() -> str:
    return f"call_{_random.getrandbits(96):024x}"


def finish_reason(reason: str, had_tool_calls: bool) -> str:
    reason = _FINISH_ALIASES.get(reason, reason)
    if reason not in OPENAI_FINISH_REASONS:
        reason = "stop"
    if had_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def usage_dict(usage: Usage | None) -> dict[str, Any] | None:
    """OpenAI usage from the numbers Raycast reported; None when it reported none."""
    if usage is None:
        return None
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class ChunkEncoder:
    """One stream's `chat.completion.chunk` frames (`data: ...\\n\\n` strings), event by event.

    Keeps only what later frames depend on: which tool calls have started, the finish reason
    and the usage. Notices never become content; `rerouted` keeps a `model_updated` message.
    """

    __slots__ = (
        "_between",
        "_calls",
        "_content",
        "_end",
        "_finish",
        "_head",
        "_include_usage",
        "_reasoning",
        "_tail",
        "rerouted",
        "usage",
    )

    def __init__(self, id: str, created: int, model: str, *, include_usage: bool) -> None:
        self._head = (
            f'data: {{"id":{_quote(id)},"object":"chat.completion.chunk","created":{created},'
            f'"model":{_quote(model)},"choices":[{{"index":0,"delta":'
        )
        self._end = ',"usage":null}\n\n' if include_usage else "}\n\n"
        # Closes a delta object, its choice and the chunk.
        self._tail = '},"logprobs":null,"finish_reason":null}]' + self._end
        self._content = self._head + '{"content":'
        self._reasoning = self._head + '{"reasoning_content":'
        self._between = self._tail + self._content
        self._include_usage = include_usage
        self._calls: set[int] = set()
        self._finish: str | None = None
        self.usage: Usage | None = None
        self.rerouted: str | None = None

    def start(self) -> str:
        return self._head + '{"role":"assistant","content":""' + self._tail

    def frames(self, events: Iterable[Event]) -> str:
        """The frames of several events, joined; a run of texts is joined in one C call."""
        out: list[str] = []
        texts: list[str] = []
        for item in events:
            if type(item) is TextDelta:
                texts.append(item.text)
                continue
            if texts:
                out.append(self._texts(texts))
                texts = []
            if (frame := self.event(item)) is not None:
                out.append(frame)
        if texts:
            out.append(self._texts(texts))
        return "".join(out)

    def _texts(self, texts: list[str]) -> str:
        return self._content + self._between.join(map(_quote, texts)) + self._tail

    def event(self, event: Event) -> str | None:
        if isinstance(event, TextDelta):
            return self._content + _quote(event.text) + self._tail
        if isinstance(event, ReasoningDelta):
            return self._reasoning + _quote(event.text) + self._tail
        if isinstance(event, ToolCallDelta):
            return self._tool_call(event)
        if isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            if self._finish is None:
                self._finish = finish_reason(event.reason, bool(self._calls))
                return (
                    self._head
                    + '{},"logprobs":null,"finish_reason":'
                    + _quote(self._finish)
                    + "}]"
                    + self._end
                )
        elif event.kind == "ping":
            return PING
        elif event.kind == "model_updated" and self.rerouted is None:
            self.rerouted = event.message or "true"
        return None

    def _tool_call(self, event: ToolCallDelta) -> str:
        if event.index in self._calls:
            call: dict[str, Any] = {
                "index": event.index,
                "function": {"arguments": event.arguments},
            }
        else:
            self._calls.add(event.index)
            call = {
                "index": event.index,
                "id": event.id or tool_call_id(),
                "type": "function",
                "function": {"name": event.name, "arguments": event.arguments},
            }
        return self._head + '{"tool_calls":[' + _dumps(call) + "]" + self._tail

    def end(self) -> str:
        """The frames after the last event: the usage chunk when asked for, then [DONE]."""
        if not self._include_usage:
            return DONE
        head = self._head[: self._head.index('"choices":')]
        return head + '"choices":[],"usage":' + _dumps(usage_dict(self.usage)) + "}\n\n" + DONE

    @staticmethod
    def error(info: ErrorInfo) -> str:
        """After a 200 is committed, an error travels as one `error` event, then [DONE]."""
        return "data: " + _dumps(error_body(info)) + "\n\n" + DONE


def error_body(info: ErrorInfo) -> dict[str, Any]:
    return {
        "error": {
            "message": info.message,
            "type": info.type,
            "param": info.param,
            "code": info.code,
        }
    }


def error_json(info: ErrorInfo) -> bytes:
    return json.dumps(error_body(info), separators=(",", ":")).encode()


def completion_body(
    id: str, created: int, completion: Completion, model: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.text or None}
    if completion.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or tool_call_id(),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in completion.tool_calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    if completion.reasoning:
        message["reasoning_content"] = completion.reasoning
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model or completion.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(
                    completion.finish_reason or "stop", bool(completion.tool_calls)
                ),
            }
        ],
        "usage": usage_dict(completion.usage),
    }


def model_object(entry: ModelEntry) -> dict[str, Any]:
    """An OpenAI model object; `created` is 0 because Raycast's catalog has no dates."""
    out: dict[str, Any] = {
        "id": entry.id,
        "object": "model",
        "created": 0,
        "owned_by": entry.provider or "raycast",
        "name": entry.name,
        "provider_model": entry.model,
        "premium": entry.requires_better_ai,
        "deprecated": entry.deprecated,
    }
    if entry.context is not None:
        out["context_window"] = entry.context
    if entry.reasoning_efforts:
        out["reasoning_efforts"] = list(entry.reasoning_efforts)
    return out


def model_list(entries: Sequence[ModelEntry]) -> dict[str, Any]:
    return {"object": "list", "data": [model_object(e) for e in entries]}
