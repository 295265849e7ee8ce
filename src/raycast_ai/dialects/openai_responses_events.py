"""The response side of the Responses dialect: the `response` object, its usage, and the
stream encoder that turns typed Raycast events into `response.*` events.

Every stream event is `event: <type>` + `data: <json>` with a `sequence_number` from 0; every
output item gets its `response.output_item.done` (Codex reads items only from those), and the
stream ends with exactly one of `response.completed`, `response.incomplete`, `response.failed`.
Item ids derive from the response id and the item's index, so a stream is reproducible.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

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
from raycast_ai.protocol.remote import citation_span, markdown_images

from .base import Chat, estimate_usage
from .errors import ErrorInfo
from .openai_responses_wire import ToolName, ToolNames

PING = ": ping\n\n"
_TEXT_EVENT = (
    'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
    '"sequence_number":'
)
_TEXT_END = ',"logprobs":[]}\n\n'
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
INCOMPLETE |= {"safety": "content_filter"}


def response_id() -> str:
    return f"resp_{random.getrandbits(128):032x}"


@dataclass(frozen=True, slots=True)
class Context:
    """What the route and the encoder need besides the messages: the input on its own (a stored
    response keeps it, without the instructions), the tool names to map back, and the request
    fields the response object echoes."""

    input: Sequence[Mapping[str, Any]]
    instructions: str | None
    tools: ToolNames
    dropped_tools: tuple[str, ...]
    store: bool
    previous_response_id: str | None
    echo: Mapping[str, Any]


def context_of(chat: Chat) -> Context:
    context = chat.context.get("responses")
    if not isinstance(context, Context):
        raise TypeError("this Chat was not parsed by the Responses dialect")
    return context


def usage_dict(usage: Usage, estimated: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
    if estimated:
        out["estimated"] = True
    return out


def response_object(
    context: Context,
    id: str,
    created: int,
    model: str,
    *,
    status: str,
    output: Sequence[Mapping[str, Any]] = (),
    usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    reason = INCOMPLETE.get(status)
    return {
        "id": id,
        "object": "response",
        "created_at": created,
        "status": "incomplete" if reason else status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": reason} if reason else None,
        "model": model,
        "output": list(output),
        "usage": usage,
        "truncation": "disabled",
        "user": None,
        **context.echo,
    }


# One encoder for every event: `json.dumps` builds a new one per call.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _or_null(value: dict[str, Any] | None) -> str:
    return "null" if value is None else _dumps(value)


class _Item:
    """An output item being streamed: its wire object, the text, summary or arguments so far,
    and once it is done, its JSON."""

    __slots__ = ("annotations", "index", "item", "json", "parts", "tool")

    def __init__(self, index: int, item: dict[str, Any], tool: ToolName | None = None) -> None:
        self.index = index
        self.item = item
        self.parts: list[str] = []
        self.tool = tool
        self.json = ""
        self.annotations: list[dict[str, Any]] = []

    @property
    def id(self) -> str:
        return str(self.item["id"])


def url_citations(text: str, citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """Sources as Responses' `url_citation` annotations (see `citation_span`)."""
    out: list[dict[str, Any]] = []
    for cited in citations:
        start, end = citation_span(text, cited)
        out.append(
            {
                "type": "url_citation",
                "start_index": start,
                "end_index": end,
                "title": cited.title,
                "url": cited.url,
            }
        )
    return out


class ResponsesEncoder:
    """One stream's `response.*` events, event by event; `response` is the final object once
    the stream ended (`end` or `error`)."""

    def __init__(
        self,
        chat: Chat,
        model: str,
        *,
        id: str | None = None,
        created: int | None = None,
    ) -> None:
        self.id = id or response_id()
        self._suffix = self.id.removeprefix("resp_")
        self.created = int(time.time()) if created is None else created
        self.model = model
        self._chat = chat
        self._context = context_of(chat)
        self._seq = 0
        self._items: list[_Item] = []
        self._open: list[_Item] = []
        self._calls: dict[int, _Item] = {}
        self._usage: Usage | None = None
        self._finish = ""
        # While a message is the one open item: what its text deltas share, and its text.
        self._text: tuple[str, list[str]] | None = None
        self._echo: str | None = None
        self.response: dict[str, Any] | None = None
        # Remote tools' sources and images, added to the last message at the end.
        self._citations: list[Citation] = []
        self._images: list[ImageLink] = []

    def _event(self, kind: str, payload: str) -> str:
        """`payload`: the event's JSON members after type and sequence_number, with a comma."""
        seq = self._seq
        self._seq += 1
        return f'event: {kind}\ndata: {{"type":"{kind}","sequence_number":{seq}{payload}}}\n\n'

    def _json(self, kind: str, **fields: Any) -> str:
        return self._event(kind, "," + _dumps(fields)[1:-1] if fields else "")

    def _snapshot(
        self,
        status: str,
        usage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> str:
        """The response object, as `response`, and its JSON; the items' JSON is reused, and the
        request fields it echoes are encoded once per stream."""
        output = [item.item for item in self._items]
        self.response = response_object(
            self._context,
            self.id,
            self.created,
            self.model,
            status=status,
            output=output,
            usage=usage,
            error=error,
        )
        if self._echo is None:
            echo = self._context.echo
            self._echo = "," + _dumps(echo)[1:-1] if echo else ""
        reason = INCOMPLETE.get(status)
        details = f'{{"reason":"{reason}"}}' if reason else "null"
        return (
            f'{{"id":"{self.id}","object":"response","created_at":{self.created},'
            f'"status":"{"incomplete" if reason else status}","background":false,'
            f'"error":{_or_null(error)},"incomplete_details":{details},'
            f'"model":{_quote(self.model)},"output":[{",".join(i.json for i in self._items)}],'
            f'"usage":{_or_null(usage)},"truncation":"disabled","user":null{self._echo}}}'
        )

    def start(self) -> str:
        created = ',"response":' + self._snapshot("in_progress")
        self.response = None
        return self._event("response.created", created) + self._event(
            "response.in_progress", created
        )

    def frames(self, events: Iterable[Event]) -> str:
        """The events of several Raycast events; a run of texts into an open message, most of
        a stream, takes a short path."""
        out: list[str] = []
        texts: list[str] = []
        for event in events:
            if type(event) is TextDelta and self._text is not None:
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
        assert self._text is not None
        head, parts = self._text
        parts.extend(texts)
        first = self._seq
        self._seq += len(texts)
        return "".join(
            [
                f"{_TEXT_EVENT}{seq}{head}{quoted}{_TEXT_END}"
                for seq, quoted in zip(range(first, self._seq), map(_quote, texts), strict=True)
            ]
        )

    def event(self, event: Event) -> str:
        if isinstance(event, TextDelta):
            return self._delta("message", event.text)
        if isinstance(event, ReasoningDelta):
            return self._delta("reasoning", event.text)
        if isinstance(event, ToolCallDelta):
            return self._tool_call(event)
        if isinstance(event, Usage):
            self._usage = event
        elif isinstance(event, Finish):
            self._finish = self._finish or event.reason
        elif isinstance(event, Citation):
            self._citations.append(event)
        elif isinstance(event, ImageLink):
            self._images.append(event)
        elif event.kind == "ping":
            return PING
        return ""

    def _sources(self) -> str:
        """Images as Markdown text, then each source as an annotation of the message's text
        (`response.output_text.annotation.added`); a message is opened when none is."""
        if not self._images and not self._citations:
            return ""
        current = self._open[-1] if len(self._open) == 1 else None
        said = "".join(current.parts) if current and current.item["type"] == "message" else ""
        text = markdown_images(self._images, after=said)
        self._images = []
        in_message = current is not None and current.item["type"] == "message"
        out = self._delta("message", text) if text or not in_message else ""
        opened = self._open[-1]
        found = url_citations("".join(opened.parts), self._citations)
        self._citations = []
        where = {"item_id": opened.id, "output_index": opened.index, "content_index": 0}
        for annotation in found:
            at = len(opened.annotations)
            opened.annotations.append(annotation)
            out += self._json(
                "response.output_text.annotation.added",
                **where,
                annotation_index=at,
                annotation=annotation,
            )
        return out

    def _delta(self, kind: str, text: str) -> str:
        out = ""
        current = self._open[-1] if len(self._open) == 1 else None
        if current is None or current.item["type"] != kind:
            out = self._close_all() + self._add(kind)
            current = self._open[-1]
        current.parts.append(text)
        where = f',"item_id":"{current.id}","output_index":{current.index}'
        if kind == "message":
            tail = f',"content_index":0,"delta":{_quote(text)},"logprobs":[]'
            return out + self._event("response.output_text.delta", where + tail)
        tail = f',"summary_index":0,"delta":{_quote(text)}'
        return out + self._event("response.reasoning_summary_text.delta", where + tail)

    def _add(self, kind: str) -> str:
        index = len(self._items)
        item: dict[str, Any]
        if kind == "message":
            id = f"msg_{self._suffix}{index:02d}"
            item = {"id": id, "type": "message", "status": "in_progress", "role": "assistant"}
            item["content"] = []
            follow = "response.content_part.added"
            part = '"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}'
        else:
            id = f"rs_{self._suffix}{index:02d}"
            item = {"id": id, "type": "reasoning", "summary": []}
            follow = "response.reasoning_summary_part.added"
            part = '"summary_index":0,"part":{"type":"summary_text","text":""}'
        opened = _Item(index, item)
        self._items.append(opened)
        self._open.append(opened)
        where = f',"item_id":"{id}","output_index":{index}'
        if kind == "message":
            self._text = (f'{where},"content_index":0,"delta":', opened.parts)
        added = f',"output_index":{index},"item":{_dumps(item)}'
        return self._event("response.output_item.added", added) + self._event(
            follow, f"{where},{part}"
        )

    def _tool_call(self, event: ToolCallDelta) -> str:
        out = ""
        opened = self._calls.get(event.index)
        if opened is None:
            if any(o.item["type"] in ("message", "reasoning") for o in self._open):
                out = self._close_all()
            opened = self._add_call(event)
            out += self._json(
                "response.output_item.added", output_index=opened.index, item=dict(opened.item)
            )
        if not event.arguments:
            return out
        opened.parts.append(event.arguments)
        if opened.tool is not None and opened.tool.custom:
            return out  # its input is known whole only once the JSON around it is complete
        where = f',"item_id":"{opened.id}","output_index":{opened.index}'
        delta = f',"delta":{_quote(event.arguments)}'
        return out + self._event("response.function_call_arguments.delta", where + delta)

    def _add_call(self, event: ToolCallDelta) -> _Item:
        index = len(self._items)
        tool = self._context.tools.original(event.name)
        call_id = event.id or f"call_{self._suffix}{index:02d}"
        item: dict[str, Any]
        if tool.custom:
            item = {"id": f"ctc_{self._suffix}{index:02d}", "type": "custom_tool_call"}
            item |= {"status": "in_progress", "call_id": call_id, "name": tool.name, "input": ""}
        else:
            item = {"id": f"fc_{self._suffix}{index:02d}", "type": "function_call"}
            item |= {"status": "in_progress", "call_id": call_id, "name": tool.name}
            item["arguments"] = ""
            if tool.namespace:
                item["namespace"] = tool.namespace
        opened = _Item(index, item, tool)
        self._items.append(opened)
        self._open.append(opened)
        self._text = None
        self._calls[event.index] = opened
        return opened

    def _close_all(self, status: str = "completed") -> str:
        out = "".join(self._close(item, status) for item in self._open)
        self._open = []
        self._text = None
        return out

    def _close(self, opened: _Item, status: str) -> str:
        """The item's closing events, ending with its `response.output_item.done`."""
        text = "".join(opened.parts)
        if opened.item["type"] in ("message", "reasoning"):
            out = self._close_text(opened, text, status)
        else:
            out = self._close_call(opened, text, status)
            opened.json = _dumps(opened.item)
        done = f',"output_index":{opened.index},"item":{opened.json}'
        return out + self._event("response.output_item.done", done)

    def _close_text(self, opened: _Item, text: str, status: str) -> str:
        """A message's or a reasoning summary's closing events, written from templates (they
        are most of a short stream's JSON)."""
        where = f',"item_id":"{opened.id}","output_index":{opened.index}'
        quoted = _quote(text)
        if opened.item["type"] == "message":
            notes = opened.annotations
            part = f'{{"type":"output_text","text":{quoted},"annotations":{_dumps(notes)}}}'
            content = {"type": "output_text", "text": text, "annotations": notes}
            opened.item.update(status=status, content=[content])
            opened.json = (
                f'{{"id":"{opened.id}","type":"message","status":"{status}",'
                f'"role":"assistant","content":[{part}]}}'
            )
            done = f'{where},"content_index":0,"text":{quoted},"logprobs":[]'
            out = self._event("response.output_text.done", done)
            return out + self._event(
                "response.content_part.done", f'{where},"content_index":0,"part":{part}'
            )
        part = f'{{"type":"summary_text","text":{quoted}}}'
        opened.item["summary"] = [{"type": "summary_text", "text": text}]
        opened.json = f'{{"id":"{opened.id}","type":"reasoning","summary":[{part}]}}'
        out = self._event(
            "response.reasoning_summary_text.done", f'{where},"summary_index":0,"text":{quoted}'
        )
        return out + self._event(
            "response.reasoning_summary_part.done", f'{where},"summary_index":0,"part":{part}'
        )

    def _close_call(self, opened: _Item, text: str, status: str) -> str:
        item = opened.item
        ids = {"item_id": opened.id, "output_index": opened.index}
        if item["type"] == "custom_tool_call":
            value = custom_input(text)
            out = ""
            if value:
                out = self._json("response.custom_tool_call_input.delta", **ids, delta=value)
            item.update(status=status, input=value)
            return out + self._json("response.custom_tool_call_input.done", **ids, input=value)
        text = text or "{}"  # clients parse the arguments as JSON
        item.update(status=status, arguments=text)
        return self._json(
            "response.function_call_arguments.done", **ids, name=item["name"], arguments=text
        )

    def end(self, final: Mapping[str, Any] | None = None) -> str:
        """The last events; `final`, a stored response being replayed, is sent as it is."""
        out = self._sources() if final is None else ""
        out += self._close_all()
        if final is not None:
            self.response = dict(final)
            kind = "response.incomplete" if final.get("status") == "incomplete" else ""
            return out + self._json(kind or "response.completed", response=self.response)
        if self._usage is not None:
            usage = usage_dict(self._usage)
        else:
            said = [
                i.tool.name + "".join(i.parts) if i.tool else "".join(i.parts)
                for i in self._items
                if i.item["type"] != "reasoning"
            ]
            reasoning = "".join(
                "".join(i.parts) for i in self._items if i.item["type"] == "reasoning"
            )
            usage = usage_dict(estimate_usage(self._chat.messages, said, reasoning), True)
        status = self._finish if self._finish in INCOMPLETE else "completed"
        kind = "response.incomplete" if status in INCOMPLETE else "response.completed"
        return out + self._event(kind, ',"response":' + self._snapshot(status, usage=usage))

    def error(self, info: ErrorInfo) -> str:
        """After status 200, an error ends the response as `response.failed`."""
        out = self._close_all("incomplete")
        failed = ',"response":' + self._snapshot("failed", error=failure(info))
        return out + self._event("response.failed", failed)


def failure(info: ErrorInfo) -> dict[str, Any]:
    """`response.error`, with the codes Codex acts on: `insufficient_quota` and
    `context_length_exceeded` end its turn, and for `rate_limit_exceeded` it reads the wait
    from "try again in N seconds"; any other code it retries."""
    if info.type == "insufficient_quota":
        return {"code": "insufficient_quota", "message": info.message}
    if info.type == "rate_limit_error":
        wait = info.headers.get("retry-after")
        message = info.message + (f" Please try again in {wait} seconds." if wait else "")
        return {"code": "rate_limit_exceeded", "message": message}
    return {"code": info.code or info.type, "message": info.message}


def custom_input(arguments: str) -> str:
    """A custom tool's free text from the arguments of the function that stands in for it."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return str(value["input"])
    return arguments if not isinstance(value, str) else value
