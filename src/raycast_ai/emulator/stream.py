"""The chat stream: Raycast's JSON chunks as `data: {json}\\n\\n` events, and how faults bend it.

Chunks are compact JSON with keys in the order the real server sends them and non-ASCII kept as
UTF-8. There is never a `[DONE]`: the stream ends after the chunk with a finish_reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import STATUS_PAGES
from .delivery import ABORT, Item, Pause
from .text import filler

UNSIGNED_ERROR: Mapping[str, Any] = {
    "error": {"message": "Something went wrong; please try again in a few minutes."}
}
ERROR_CHUNKS: Mapping[str, Mapping[str, Any]] = {
    "context_error": {
        "error": {
            "message": "The message was too long (125%). Submit something shorter",
            "type": "context_error",
        }
    },
    "credits_error": {
        "error": {
            "message": "You have used all your AI credits for this period.",
            "type": "credits_error",
        }
    },
    "unknown_api_error": {
        "error": {"message": "An unknown error occurred.", "type": "unknown_api_error"}
    },
    # The recorded 2026 reply's text; its `type` was not recorded, so none is sent.
    "free_trial": {
        "error": {
            "message": "You've reached your free trial limit of 25 AI requests per hour. "
            "Upgrade to Raycast Pro to continue, or try again in 7 minutes."
        }
    },
}
MALFORMED_EVENT = b'data: {"text": "this line is cut off\n\n'
OVERSIZED_TEXT = 2 * 1024 * 1024
FEW = 3  # "a few chunks": how many text chunks go out before a mid-stream fault


def event(chunk: Mapping[str, Any]) -> bytes:
    data = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
    return b"data: " + data.encode() + b"\n\n"


def text_event(text: str) -> bytes:
    return b'data: {"text":' + json.dumps(text, ensure_ascii=False).encode() + b"}\n\n"


def opening(provider: str) -> tuple[bytes, bytes]:
    """The provider_status and ping notifications every answer starts with."""
    status = {
        "notification_type": "provider_status",
        "notification": "",
        "status": "operational",
        "status_page_url": STATUS_PAGES.get(provider, "https://status.raycast.com"),
        "text": "",
    }
    return event(status), event({"notification": "", "notification_type": "ping", "text": ""})


def reroute_event(message: str) -> bytes:
    return event({"notification_type": "model_updated", "notification": message, "text": ""})


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer as events: the opening notifications, the content (reasoning first, then text
    or tool-call deltas) and the closing chunk with the finish_reason."""

    opening: tuple[bytes, ...]
    content: tuple[bytes, ...]
    finish: bytes
    lead: int = 0  # how many content events are reasoning


def answer_reply(
    provider: str, reasoning: Sequence[str], texts: Sequence[str], usage: tuple[int, int]
) -> Reply:
    content = [event({"reasoning": r, "text": ""}) for r in reasoning]
    content.extend(map(text_event, texts))
    finish = {
        "text": "",
        "finish_reason": "STOP" if provider == "google" else "stop",
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }
    return Reply(opening(provider), tuple(content), event(finish), len(reasoning))


def tool_reply(
    provider: str,
    reasoning: Sequence[str],
    deltas: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> Reply:
    content = [event({"reasoning": r, "text": ""}) for r in reasoning]
    content.extend(map(event, deltas))
    return Reply(opening(provider), tuple(content), event(summary), len(reasoning))


def reply_plan(
    reply: Reply,
    fault: str | None = None,
    *,
    first_delay: float = 0.0,
    chunk_delay: float = 0.0,
    stall: float = 0.0,
    reroute: str = "",
) -> list[Item]:
    """The reply as plan items, paced and bent by a stream fault (None for a normal answer)."""
    slots: list[list[Item]] = []
    for i, data in enumerate(reply.content):
        wait = first_delay if i == 0 else chunk_delay
        slots.append([Pause(wait), data] if wait > 0 else [data])
    cut = min(len(slots), reply.lead + FEW)
    head: list[Item] = list(reply.opening)
    if fault == "model_updated":
        head.insert(1, reroute_event(reroute))

    def paced(part: Sequence[list[Item]]) -> list[Item]:
        return [item for slot in part for item in slot]

    if fault == "reset-before":
        return [ABORT]
    if fault == "truncate":
        return head + paced(slots[:cut])
    if fault == "reset-mid":
        return [*head, *paced(slots[:cut]), ABORT]
    if fault == "malformed":
        return [*head, *paced(slots[:cut]), MALFORMED_EVENT, *paced(slots[cut:]), reply.finish]
    if fault == "oversized":
        big = text_event(filler(OVERSIZED_TEXT))
        return [*head, *paced(slots[:cut]), big, *paced(slots[cut:]), reply.finish]
    if fault == "stall":
        at = min(len(slots), reply.lead + 1)
        return [*head, *paced(slots[:at]), Pause(stall), *paced(slots[at:]), reply.finish]
    items = [*head, *paced(slots), reply.finish]
    if fault == "stall-before":
        items.insert(0, Pause(stall))
    return items
