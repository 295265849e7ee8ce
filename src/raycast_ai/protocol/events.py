"""Raycast's JSON stream chunks to typed events, and the bytes-to-events stream parser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import isfinite
from typing import Any, TypeAlias

from .credits import quota_error
from .errors import (
    SIGNING_HINT,
    AuthenticationError,
    IncompleteStreamError,
    RaycastError,
    StreamDecodeError,
    UpstreamError,
)
from .remote import KNOWN_REMOTE_TOOLS, Report, citations, ignore, images, unknown_keys
from .remote import Citation as Citation  # events of remote tools, re-exported with the others
from .remote import ImageLink as ImageLink
from .sse import DEFAULT_MAX_EVENT_SIZE, SSEDecoder

UNSIGNED_ERROR_PREFIX = "Something went wrong"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call; `index` counts from 0; `id` and `name` come on its first piece."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A side-channel message: ping, provider_status, model_updated (a reroute), tool_used, ..."""

    kind: str
    message: str = ""

    @property
    def rerouted(self) -> bool:
        """Raycast answered with another model than the one asked for (`message` says which)."""
        return self.kind == "model_updated"


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: str


Event: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallDelta | Notice | Usage | Finish | Citation | ImageLink
)

_FINISH_REASONS = {"stop": "stop", "end_turn": "stop", "max_tokens": "length", "length": "length"}


def normalize_finish_reason(reason: str) -> str:
    low = reason.lower()
    return _FINISH_REASONS.get(low, low)


class _ToolCalls:
    """Remaps provider-native tool-call indexes to 0..n by call id; keeps the arguments so far."""

    __slots__ = (
        "args",
        "by_id",
        "by_upstream_index",
        "hidden",
        "local_names",
        "names",
        "remote_names",
    )

    def __init__(
        self, local_names: frozenset[str] | None, remote_names: frozenset[str] = frozenset()
    ) -> None:
        self.local_names = local_names
        # Calls of these are Raycast's to run: never surfaced as calls for the client to run.
        self.remote_names = (remote_names | frozenset(KNOWN_REMOTE_TOOLS)) - (
            local_names or frozenset()
        )
        self.by_id: dict[str, int] = {}
        self.by_upstream_index: dict[int, int] = {}
        self.names: list[str] = []
        self.args: list[str] = []
        self.hidden: set[int] = set()

    @property
    def only_hidden(self) -> bool:
        return bool(self.hidden) and len(self.hidden) == len(self.names)

    def feed(self, calls: list[Any], summary: bool) -> list[Event]:
        out: list[Event] = []
        for raw in calls:
            if isinstance(raw, Mapping):
                out.extend(self._one(raw, summary or "function" not in raw))
        return out

    def _one(self, raw: Mapping[str, Any], summary: bool) -> list[Event]:
        fn = raw.get("function")
        fn = fn if isinstance(fn, Mapping) else raw
        # Other names for the same fields, seen in Raycast 2.x guesses (raycast-protocol.md 9.2).
        call_id = str(raw.get("id") or raw.get("call_id") or raw.get("toolCallId") or "")
        name = str(fn.get("name") or raw.get("toolName") or "")
        arguments = fn.get("arguments")
        if arguments is None:
            arguments = fn.get("input", fn.get("args"))
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
        upstream_index = raw.get("index")
        index = self.by_id.get(call_id) if call_id else None
        if index is None and not call_id and isinstance(upstream_index, int):
            index = self.by_upstream_index.get(upstream_index)
        if index is None and not call_id and not summary and self.names:
            index = len(self.names) - 1
        new = index is None
        if index is None:
            index = len(self.names)
            self.names.append(name)
            self.args.append("")
            if call_id:
                self.by_id[call_id] = index
            if name in self.remote_names or (
                self.local_names is not None and name and name not in self.local_names
            ):
                self.hidden.add(index)
        if isinstance(upstream_index, int):
            self.by_upstream_index[upstream_index] = index
        if summary:
            seen = self.args[index]
            arguments = arguments[len(seen) :] if arguments.startswith(seen) else ""
        self.args[index] += arguments
        if index in self.hidden:
            return [Notice("tool_used", name)] if new else []
        if not new and not arguments:
            return []
        position = sum(1 for i in range(index) if i not in self.hidden)
        return [ToolCallDelta(position, call_id if new else "", name if new else "", arguments)]


class ChunkInterpreter:
    """Turns each decoded Raycast chunk into events; raises the typed error an error chunk means."""

    __slots__ = ("_report", "_sources", "_tools", "finished", "signed", "text_parts")

    def __init__(
        self,
        *,
        signed: bool = True,
        local_tools: frozenset[str] | None = None,
        remote_tools: frozenset[str] = frozenset(),
        report: Report = ignore,
    ) -> None:
        """`report` is told what a chunk held that is not understood (never an error)."""
        self.signed = signed
        self._report = report
        self.finished = False
        self.text_parts: list[str] = []
        self._tools = _ToolCalls(local_tools, remote_tools)
        self._sources: dict[str, Citation] = {}

    @property
    def partial_text(self) -> str:
        return "".join(self.text_parts)

    def feed(self, chunk: Mapping[str, Any]) -> list[Event]:
        error = chunk.get("error")
        if error:
            raise self._error(error)
        events: list[Event] = []
        kind = chunk.get("notification_type")
        if kind:
            message = chunk.get("notification") or chunk.get("status") or ""
            content = chunk.get("content")
            if not message and isinstance(content, Mapping):
                message = content.get("notification") or ""
            events.append(Notice(str(kind), str(message)))
        reasoning = chunk.get("reasoning")
        if reasoning and isinstance(reasoning, str):
            events.append(ReasoningDelta(reasoning))
        finish = chunk.get("finish_reason")
        text = chunk.get("text")
        if finish == "error":
            said = str(text or "Raycast reported an error.")
            raise quota_error(said, None) or UpstreamError(said, partial_text=self.partial_text)
        if text and isinstance(text, str):
            self.text_parts.append(text)
            events.append(TextDelta(text))
        calls = chunk.get("tool_calls")
        if isinstance(calls, Mapping):  # a singular variant some clients read ("tool_call")
            calls = [calls]
        elif not isinstance(calls, list) and isinstance(chunk.get("tool_call"), Mapping):
            calls = [chunk["tool_call"]]
        if isinstance(calls, list):
            events.extend(self._tools.feed(calls, summary=finish == "tool_calls"))
        events.extend(self._remote(chunk))
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            events.append(_usage(usage))
        if finish and isinstance(finish, str):
            self.finished = True
            reason = normalize_finish_reason(finish)
            if reason == "tool_calls" and self._tools.only_hidden:
                reason = "stop"  # Raycast ran every call itself: nothing is left to the client
            events.append(Finish(reason))
        return events

    def _remote(self, chunk: Mapping[str, Any]) -> list[Event]:
        """What a remote tool's reply may carry: sources (each URL once) and image URLs."""
        report = self._report
        unknown_keys(chunk, report)
        out: list[Event] = []
        if "references" in chunk or "citations" in chunk or "content" in chunk:
            for url, title, snippet in citations(chunk, report):
                if url not in self._sources:
                    cited = Citation(url, title, snippet, len(self._sources) + 1)
                    self._sources[url] = cited
                    out.append(cited)
        if "image" in chunk or "images" in chunk or "content" in chunk:
            out.extend(map(ImageLink, images(chunk, report)))
        return out

    def end(self) -> None:
        if not self.finished:
            partial = self.partial_text
            raise IncompleteStreamError(
                f"The Raycast stream ended before the answer was finished "
                f"({len(partial)} characters arrived). Retry the request.",
                partial_text=partial,
            )

    def _error(self, error: object) -> RaycastError:
        if isinstance(error, Mapping):
            message = str(error.get("message") or error.get("userMessage") or "")
            kind = str(error["type"]) if error.get("type") else None
        else:
            message, kind = str(error), None
        message = message or "Raycast reported an error without a message."
        partial = self.partial_text
        if not self.signed and message.startswith(UNSIGNED_ERROR_PREFIX):
            return AuthenticationError(
                f"Raycast refused the unsigned request ('{message}'). {SIGNING_HINT}",
                type="signature_required",
            )
        quota = quota_error(message, kind)
        if quota is not None:
            return quota
        if self.signed and (
            kind == "unknown_api_error" or message.startswith(UNSIGNED_ERROR_PREFIX)
        ):
            message += (
                " (Raycast answers this when X-Raycast-Signature-v2 does not match: "
                "check the signing secret, RAYCAST_SIGNING_SECRET.)"
            )
        status = 400 if kind == "context_error" else None
        return UpstreamError(message, type=kind, status_code=status, partial_text=partial)


def _usage(raw: Mapping[str, Any]) -> Usage:
    def number(*keys: str) -> int | None:
        for key in keys:
            value = raw.get(key)
            if isinstance(value, bool):
                continue
            # Python's json accepts Infinity and NaN, which int() cannot take.
            if isinstance(value, int) or (isinstance(value, float) and isfinite(value)):
                return int(value)
        return None

    return Usage(
        number("input_tokens", "prompt_tokens") or 0,
        number("output_tokens", "completion_tokens") or 0,
        number("reasoning_tokens"),
    )


class StreamParser:
    """Bytes of a chat_completions response in, events out; `end()` at EOF checks it finished.

    When a read holds good events and then a bad one, the good events are returned and the
    error is raised on the next call, so nothing that arrived is lost.
    """

    __slots__ = ("_decoder", "_error", "interpreter")

    def __init__(
        self,
        *,
        signed: bool = True,
        local_tools: frozenset[str] | None = None,
        remote_tools: frozenset[str] = frozenset(),
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        report: Report = ignore,
    ) -> None:
        self._decoder = SSEDecoder(max_event_size)
        self._error: RaycastError | None = None
        self.interpreter = ChunkInterpreter(
            signed=signed, local_tools=local_tools, remote_tools=remote_tools, report=report
        )

    @property
    def partial_text(self) -> str:
        return self.interpreter.partial_text

    def feed(self, data: bytes) -> list[Event]:
        if self._error is not None:
            raise self._error
        events: list[Event] = []
        try:
            self._feed(data, events)
        except RaycastError as error:
            if isinstance(error, UpstreamError) and not error.partial_text:
                error.partial_text = self.partial_text
            if not events:
                raise
            self._error = error
        return events

    def _feed(self, data: bytes, events: list[Event]) -> None:
        decoder = self._decoder
        pos, size = 0, len(data)
        while pos < size:
            if decoder.idle:
                # A window no larger than one event may be, so the size limit needs no check.
                run = _text_run(data, pos, min(size, pos + decoder.max_event_size))
                if run is not None:
                    texts, pos = run
                    texts = [text for text in texts if text]
                    self.interpreter.text_parts.extend(texts)
                    events.extend(map(TextDelta, texts))
                    continue
            # Everything else goes through the full decoder, up to the next likely text event.
            cut = data.find(b'\n\ndata: {"text"', pos)
            end = size if cut < 0 else cut + 2
            self._chunks(decoder.feed_tuples(data[pos:end]), events)
            pos = end

    def _chunks(self, fields: list[tuple[str, str, str, int | None]], events: list[Event]) -> None:
        interpreter = self.interpreter
        for payload, kind, _, _ in fields:
            try:
                chunk, end = _scan(payload, 0)
                if end != len(payload):
                    chunk = json.loads(payload)  # trailing whitespace, or a second value
            except StopIteration:
                chunk = self._loads(payload)  # leading whitespace, [DONE] or not JSON
                if chunk is None:
                    continue
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                raise self._not_json(payload) from None
            if type(chunk) is not dict:
                raise StreamDecodeError(
                    f"Raycast sent a stream line that is not a JSON object: {payload[:80]!r}",
                    partial_text=self.partial_text,
                )
            if kind == "error" and "error" not in chunk:
                chunk = {"error": chunk}
            if len(chunk) == 1 and type(text := chunk.get("text")) is str:
                if text:
                    interpreter.text_parts.append(text)
                    events.append(TextDelta(text))
            else:
                events.extend(interpreter.feed(chunk))

    def _loads(self, payload: str) -> Any:
        if payload == "[DONE]":
            return None
        try:
            return json.loads(payload)
        except (ValueError, RecursionError):
            raise self._not_json(payload) from None

    def _not_json(self, payload: str) -> StreamDecodeError:
        return StreamDecodeError(
            f"Raycast sent a stream line that is not JSON: {payload[:80]!r}",
            partial_text=self.partial_text,
        )

    def end(self) -> None:
        if self._error is not None:
            raise self._error
        try:
            self._decoder.end()
        except StreamDecodeError as error:
            error.partial_text = error.partial_text or self.partial_text
            raise
        self.interpreter.end()


# The C scanner behind json.loads, called directly: it skips two regex passes and two Python
# frames per event. Anything it does not take whole goes through json.loads for the same result.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


# Most of a stream is runs of one chunk shape, `data: {"text":"<a JSON string>"}`. For a run, one
# regex pass checks it whole and one json.loads decodes all of its texts, instead of an SSE
# line, a JSON parse and a dict per event. The string must be valid JSON as it stands (the
# pattern admits exactly JSON's characters and escapes), so joining the strings of a run as
# `","` makes an array of exactly its texts. Any other shape takes the full path.
_JSON_STRING = rb'(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+'
_TEXT_EVENT = re.compile(
    rb'(data: \{[ \t]*"text"[ \t]*:[ \t]*")' + _JSON_STRING + rb'("[ \t]*\}\n\n)'
)
_runs: dict[tuple[bytes, bytes], re.Pattern[bytes]] = {}


def _text_run(data: bytes, pos: int, endpos: int) -> tuple[list[str], int] | None:
    """The texts of the run of plain text events at `pos` (one spacing), and where it ends."""
    first = _TEXT_EVENT.match(data, pos, endpos)
    if first is None:
        return None
    head, tail = first.group(1, 2)
    run = _runs.get((head, tail))
    if run is None:
        run = re.compile(b"(?:" + re.escape(head) + _JSON_STRING + re.escape(tail) + b")+")
        if len(_runs) < 16:  # spacings seen; a hostile server cannot grow this
            _runs[head, tail] = run
    match = run.match(data, pos, endpos)
    assert match is not None  # the first event alone matches
    end = match.end()
    strings = data[pos + len(head) : end - len(tail)].replace(tail + head, b'","')
    texts: list[str] = json.loads('["' + strings.decode("utf-8", "replace") + '"]')
    return texts, end
