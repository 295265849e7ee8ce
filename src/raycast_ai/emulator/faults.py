"""Per-request directives: faults to inject and knobs to turn, chosen by the request itself.

Magic words in the last user message travel through any client or gateway unchanged:
``@fault:NAME``, ``@chunks:N``, ``@delay:SECONDS`` (before each later chunk), ``@first:SECONDS``
(before the first token), ``@stall:SECONDS``, ``@retry-after:SECONDS``, ``@tool`` /
``@tool:NAME``, and for Raycast's remote tools ``@search`` (a web search, when the request
offers `web_search`) and ``@image`` / ``@image:NAME`` (an image tool the request offers).
Headers that only the emulator reads do the same from test code and win over the words:
``X-Emulator-Fault``, ``X-Emulator-Chunks``, ``X-Emulator-Delay``, ``X-Emulator-First-Delay``,
``X-Emulator-Stall``, ``X-Emulator-Retry-After``.

``@json:invalid`` and ``@json:invalid-once`` (header ``X-Emulator-Json``) hold for the whole
conversation, so that they survive a client's repair turn: the JSON the model gives (a forced
tool's arguments, a JSON answer) is invalid for its schema every time, or only until an
assistant turn follows the message that asked.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

STATUS_FAULTS: Mapping[str, int] = {
    "401": 401,
    "403": 403,
    "404": 404,
    "429": 429,
    "500": 500,
    "502": 502,
    "503": 503,
}
STREAM_FAULTS = frozenset(
    {
        "reset-before",
        "reset-mid",
        "stall",
        "stall-before",
        "truncate",
        "malformed",
        "context_error",
        "credits_error",
        "free_trial",
        "unknown_api_error",
        "model_updated",
        "oversized",
    }
)
# A flaky fault fails the first attempt of a message (its body's message_id) as the named fault.
FLAKY_FAULTS: Mapping[str, str] = {
    "flaky-503": "503",
    "flaky-429": "429",
    "flaky-reset": "reset-before",
}
FAULTS = frozenset(STATUS_FAULTS) | STREAM_FAULTS | frozenset(FLAKY_FAULTS)

DEFAULT_STALL = 30.0
DEFAULT_RETRY_AFTER = 1.0
MAX_CHUNKS = 1_000_000
MAX_SECONDS = 3600.0

_WORD = re.compile(
    r"(?<![\w@])@(fault|chunks|delay|first|stall|retry-after|tool|search|image)\b(?::(\S*))?"
)
_TRAILING = ".,;!?)]}'\""
_HEADERS = {
    "fault": "x-emulator-fault",
    "chunks": "x-emulator-chunks",
    "delay": "x-emulator-delay",
    "first": "x-emulator-first-delay",
    "stall": "x-emulator-stall",
    "retry-after": "x-emulator-retry-after",
}


_EXAMPLES = {
    "fault": "429",
    "chunks": "5",
    "delay": "0.05",
    "first": "1",
    "stall": "30",
    "retry-after": "1",
}


JSON_FAULTS = frozenset({"invalid", "invalid-once"})
_JSON_WORD = re.compile(r"(?<![\w@])@json\b(?::(\S*))?")


class DirectiveError(ValueError):
    """A directive the emulator cannot follow; answered with HTTP 400 so typos show."""


@dataclass(frozen=True, slots=True)
class Directives:
    fault: str | None = None
    chunks: int | None = None
    delay: float | None = None
    first_delay: float | None = None
    stall: float | None = None
    retry_after: float | None = None
    # None: no tool call asked for; "": call the first local tool; a name: call that tool.
    tool: str | None = None
    search: bool = False
    # As `tool`, for the image remote tools the request offers.
    image: str | None = None

    @property
    def stall_seconds(self) -> float:
        return DEFAULT_STALL if self.stall is None else self.stall

    @property
    def retry_after_seconds(self) -> float:
        return DEFAULT_RETRY_AFTER if self.retry_after is None else self.retry_after


def parse_directives(text: str, headers: Mapping[str, str] | None = None) -> Directives:
    """Directives from a message's text and from lower-case request headers (which win)."""
    raw: dict[str, str] = {}
    tool: str | None = None
    image: str | None = None
    search = False
    for match in _WORD.finditer(text):
        name, value = match.group(1), match.group(2)
        value = value.rstrip(_TRAILING) if value is not None else None
        if name == "tool":
            tool = value or ""
        elif name == "image":
            image = value or ""
        elif name == "search":
            search = True
        elif not value:
            raise DirectiveError(f"@{name} needs a value, e.g. @{name}:{_EXAMPLES[name]}.")
        else:
            raw[name] = value
    for name, header in _HEADERS.items():
        value = (headers or {}).get(header, "").strip()
        if value:
            raw[name] = value
    fault = raw.get("fault")
    if fault is not None and fault not in FAULTS:
        raise DirectiveError(
            f"Unknown emulator fault '{fault}'; use one of: {', '.join(sorted(FAULTS))}."
        )
    return Directives(
        fault=fault,
        chunks=_count(raw["chunks"]) if "chunks" in raw else None,
        delay=_seconds("delay", raw.get("delay")),
        first_delay=_seconds("first", raw.get("first")),
        stall=_seconds("stall", raw.get("stall")),
        retry_after=_seconds("retry-after", raw.get("retry-after")),
        tool=tool,
        search=search,
        image=image,
    )


def json_fault(text: str, headers: Mapping[str, str] | None = None) -> str | None:
    """The `@json:` directive in a message's text, or the `X-Emulator-Json` header (which wins)."""
    value = (headers or {}).get("x-emulator-json", "").strip() or None
    if value is None:
        match = _JSON_WORD.search(text)
        if match is None:
            return None
        value = (match.group(1) or "").rstrip(_TRAILING)
    if value not in JSON_FAULTS:
        raise DirectiveError(
            f"@json takes {' or '.join(sorted(JSON_FAULTS))}, not '{value}', e.g. @json:invalid."
        )
    return value


def _count(value: str) -> int:
    if not value.isdigit() or int(value) > MAX_CHUNKS:
        raise DirectiveError(f"@chunks takes a whole number from 0 to {MAX_CHUNKS}, not '{value}'.")
    return int(value)


def _seconds(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_SECONDS:
        raise DirectiveError(
            f"@{name} takes a number of seconds from 0 to {MAX_SECONDS:g}, not '{value}'."
        )
    return seconds


class AttemptLog:
    """Remembers which messages were tried, so a flaky fault fails only the first attempt."""

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_attempt(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            if len(self._seen) > self._limit:
                self._seen.popitem(last=False)
            return True
