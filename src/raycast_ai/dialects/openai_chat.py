"""The OpenAI chat-completions dialect (`POST /v1/chat/completions`), sans I/O: a request body
to the neutral `Chat`, typed Raycast events to `chat.completion.chunk` frames or one
`chat.completion` body, and errors to OpenAI's error body.

Stream frames are built by string templates rather than `json.dumps` of a dict per event: the
fixed part of a chunk is encoded once per stream and only the delta text is escaped per event.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from pydantic import ValidationError

from raycast_ai.protocol.completion import Completion
from raycast_ai.protocol.events import (
    Citation,
    Event,
    Finish,
    ImageLink,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from raycast_ai.protocol.remote import WEB_SEARCH, citation_span, markdown_images
from raycast_ai.protocol.request import ChatOptions

from . import attachments
from .base import Chat, completion_usage, estimate_usage
from .errors import BadRequest, ErrorInfo, invalid_request, validation_error
from .openai_wire import FILE_PARTS, ChatCompletionRequest, ChatMessage
from .structured import output_format

DONE = "data: [DONE]\n\n"
PING = ": ping\n\n"
OPENAI_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter"})
_FINISH_ALIASES = {"safety": "content_filter", "content_filter": "content_filter"}


# Ids need to be unique, not secret: the random module spares a getrandom syscall per id, and
# reseeds itself in a forked child, so two worker processes never share a sequence.
def completion_id() -> str:
    return f"chatcmpl-{random.getrandbits(96):024x}"


def tool_call_id() -> str:
    return f"call_{random.getrandbits(96):024x}"


def parse(body: bytes) -> Chat:
    try:
        request = ChatCompletionRequest.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc, "a JSON object with 'messages'") from None
    if request.n is not None and request.n != 1:
        raise BadRequest(
            invalid_request("Only n=1 is supported: Raycast gives one answer.", param="n")
        )
    options = ChatOptions(
        temperature=request.temperature,
        reasoning_effort=request.effort,
        tools=request.tools or (),
        tool_choice=request.tool_choice,
        output=output_format(request.response_format, "response_format", nested=True),
        remote_tools=(WEB_SEARCH,) if request.web_search_options is not None else (),
    )
    messages = [_message(m, f"messages.{i}") for i, m in enumerate(request.messages)]
    return Chat(messages, request.model, options, request.stream, request.include_usage)


def _message(message: ChatMessage, where: str) -> dict[str, Any]:
    """A message for the client, its images and files as attachment parts (user messages) or
    notes (tool results); anywhere else they are a 400."""
    out = message.to_client()
    content = out.get("content")
    if not isinstance(content, list) or not any(
        attachments.part_type(p) in FILE_PARTS for p in content
    ):
        return out
    parts: list[Any] = []
    for j, part in enumerate(content):
        kind, param = attachments.part_type(part), f"{where}.content.{j}"
        if kind not in FILE_PARTS:
            parts.append(part)
        elif message.role == "user":
            parts.append(_file_part(part, str(kind), param))
        elif message.role in ("tool", "function"):
            parts.append({"type": "text", "text": attachments.omitted(kind)})
        else:
            raise attachments.not_in_user_message(str(kind), param)
    out["content"] = parts
    return out


def _file_part(part: Any, kind: str, param: str) -> dict[str, Any]:
    hint = attachments.DATA_URL_HINT
    if kind == "input_audio":
        raise BadRequest(
            invalid_request(
                f"'{param}' is audio, which Raycast's models do not take; send text, images or "
                "files.",
                param=param,
            )
        )
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return attachments.from_url(url, f"{param}.image_url", hint)
    file = part.get("file")
    if not isinstance(file, dict):
        raise BadRequest(
            invalid_request(f"'{param}.file' must be an object with 'file_data'.", param=param)
        )
    data, filename = file.get("file_data"), file.get("filename")
    where = f"{param}.file.file_data"
    if data is None and file.get("file_id") is not None:
        raise attachments.file_id_refused(f"{param}.file.file_id", hint)
    if isinstance(data, str) and data[:5].lower() == "data:":
        return attachments.from_url(data, where, hint, filename)
    return attachments.from_base64(data, where, filename=filename)


def finish_reason(reason: str, had_tool_calls: bool) -> str:
    reason = _FINISH_ALIASES.get(reason, reason)
    if reason not in OPENAI_FINISH_REASONS:
        reason = "stop"
    if had_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def usage_dict(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def usage_end(
    head: str, usage: Usage | None, messages: Sequence[Mapping[str, Any]], said: list[str]
) -> str:
    """The last chunk, with the usage (Raycast's, else an estimate that says it is one) and no
    choices, then [DONE]; `head` is the opening of the stream's chunks."""
    if usage is not None:
        body = usage_dict(usage)
    else:
        body = {**usage_dict(estimate_usage(messages, said)), "estimated": True}
    opening = head[: head.index('"choices":')]
    return opening + '"choices":[],"usage":' + _dumps(body) + "}\n\n" + DONE


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class ChunkEncoder:
    """One stream's `chat.completion.chunk` frames (`data: ...\\n\\n` strings), event by event.

    Keeps only what later frames depend on: which tool calls have started, the finish reason
    and the usage; with `include_usage`, also what was said, to estimate the usage when Raycast
    reports none (that usage chunk then carries `"estimated": true`). Notices never become
    content.
    """

    __slots__ = (
        "_between",
        "_calls",
        "_citations",
        "_content",
        "_end",
        "_finish",
        "_head",
        "_images",
        "_messages",
        "_reasoning",
        "_said",
        "_tail",
        "_text",
        "usage",
    )

    def __init__(
        self,
        id: str,
        created: int,
        model: str,
        *,
        include_usage: bool,
        messages: Sequence[Mapping[str, Any]] = (),
    ) -> None:
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
        self._messages = messages
        self._said: list[str] | None = [] if include_usage else None
        self._calls: set[int] = set()
        self._finish: str | None = None
        self.usage: Usage | None = None
        # Remote tools' sources and images go out once the text is whole (see `_sources`).
        self._text: list[str] = []
        self._citations: list[Citation] = []
        self._images: list[ImageLink] = []

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
        self._text.extend(texts)
        if self._said is not None:
            self._said.extend(texts)
        return self._content + self._between.join(map(_quote, texts)) + self._tail

    def event(self, event: Event) -> str | None:
        if isinstance(event, TextDelta):
            return self._texts([event.text])
        if isinstance(event, ReasoningDelta | ToolCallDelta) and self._said is not None:
            self._said.append(event.text if isinstance(event, ReasoningDelta) else event.arguments)
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
                    self._sources()
                    + self._head
                    + '{},"logprobs":null,"finish_reason":'
                    + _quote(self._finish)
                    + "}]"
                    + self._end
                )
        elif isinstance(event, Citation):
            self._citations.append(event)
        elif isinstance(event, ImageLink):
            self._images.append(event)
        elif event.kind == "ping":
            return PING
        return None

    def _sources(self) -> str:
        """Images as Markdown content, then the sources as one `annotations` delta (as OpenAI's
        search models send them), their spans in the whole text."""
        out = ""
        if self._images:
            out = self._texts([markdown_images(self._images, after="".join(self._text))])
            self._images = []
        if self._citations:
            delta = {"annotations": url_citations("".join(self._text), self._citations)}
            out += self._head + _dumps(delta)[:-1] + self._tail  # the tail closes the delta
            self._citations = []
        return out

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
        sources = self._sources()
        if self._said is None:
            return sources + DONE
        return sources + usage_end(self._head, self.usage, self._messages, self._said)

    @staticmethod
    def error(info: ErrorInfo) -> str:
        """After a 200 is committed, an error travels as one `error` event, then [DONE]."""
        return "data: " + _dumps(error_body(info)) + "\n\n" + DONE


def encoder(chat: Chat, model: str) -> ChunkEncoder:
    return ChunkEncoder(
        completion_id(),
        int(time.time()),
        model,
        include_usage=chat.include_usage,
        messages=chat.messages,
    )


def url_citations(text: str, citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """Sources as chat completions' `url_citation` annotations (see `citation_span`)."""
    out: list[dict[str, Any]] = []
    for cited in citations:
        start, end = citation_span(text, cited)
        where = {"start_index": start, "end_index": end, "title": cited.title, "url": cited.url}
        out.append({"type": "url_citation", "url_citation": where})
    return out


def body(chat: Chat, completion: Completion, model: str) -> dict[str, Any]:
    """The `chat.completion` body; `usage` is Raycast's, else estimated (the route says so)."""
    text = completion.text + markdown_images(completion.images, after=completion.text)
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if completion.citations:
        message["annotations"] = url_citations(text, completion.citations)
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
    usage, _ = completion_usage(chat, completion)
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
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
        "usage": usage_dict(usage),
    }


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


def error_status(info: ErrorInfo) -> int:
    return info.status


name = "openai-chat"


def request_schema(ref_template: str) -> dict[str, Any]:
    return ChatCompletionRequest.model_json_schema(ref_template=ref_template)
