"""Raycast's remote tools, played by the emulator: a web search and an image tool.

GUESSES, not recordings: no public capture shows a stream in which Raycast ran a remote tool
(raycast-protocol.md 9.2). The chunks follow what other clients and emulators expect: a flat
tool-call entry naming the remote tool (which clients must not run), a `tool_used` notice,
`references` with title, url and summary (search) or `images` URLs (image tools), then the
model's answer, which cites the sources as [1], [2].

A search runs when the request offers the `web_search` remote tool and the last user message
says `@search` (or tool_choice is "required" with no local tool); an image tool likewise with
`@image` / `@image:NAME`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .faults import DirectiveError, Directives
from .stream import Reply, event, opening, text_event
from .text import answer_chunks, count_tokens
from .tools import call_id

IMAGE_TOOLS = (
    "gpt_image",
    "dalle",
    "gemini_image",
    "nano_banana",
    "flux",
    "flux-kontext",
    "stable_diffusion",
)
SEARCH_NOTICE = "Searching the web..."
IMAGE_NOTICE = "Generating an image..."
SOURCES = 2
_DIRECTIVE = re.compile(r"(?<![\w@])@[\w-]+(?::\S*)?")


def offered(body: Mapping[str, Any]) -> list[str]:
    """The names of the request's remote tools, in order."""
    tools = body.get("tools")
    return [
        str(t["name"])
        for t in (tools if isinstance(tools, list) else ())
        if isinstance(t, Mapping) and t.get("type") == "remote_tool" and t.get("name")
    ]


def chosen(body: Mapping[str, Any], directives: Directives, local: bool) -> tuple[str, str] | None:
    """("search", "web_search") or ("image", NAME) when this request runs a remote tool."""
    names = offered(body)
    forced = body.get("tool_choice") == "required" and not local
    if "web_search" in names and (directives.search or (forced and directives.image is None)):
        return "search", "web_search"
    images = [n for n in names if n in IMAGE_TOOLS]
    if directives.image is not None or (forced and images):
        if directives.image:
            if directives.image not in images:
                raise DirectiveError(
                    f"@image:{directives.image} names an image tool the request does not "
                    f"offer ({', '.join(images) or 'none'})."
                )
            return "image", directives.image
        if images:
            return "image", images[0]
    return None


def sources(query: str) -> list[dict[str, Any]]:
    """The search results for `query`: the same query always finds the same pages."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    words = " ".join(query.split()[:6]) or "your question"
    return [
        {
            "title": f"Result {n} for “{words}”",
            "url": f"https://search{n}.example/{digest[n * 8 : n * 8 + 12]}",
            "summary": f"What page {n} says about {words}.",
            "images": [],
        }
        for n in range(1, SOURCES + 1)
    ]


def image_url(tool: str, prompt: str) -> str:
    digest = hashlib.sha256(f"{tool}\0{prompt}".encode()).hexdigest()[:16]
    return f"https://images.example/{tool}/{digest}.png"


def search_texts(prompt: str, model_id: str, n: int) -> list[str]:
    """The answer after a search: it cites each source by number, then ordinary pieces."""
    cited = " and ".join(f"[{i}]" for i in range(1, SOURCES + 1))
    return [f"According to {cited}: ", *answer_chunks(prompt, model_id, max(n - 1, 1))]


def image_texts(tool: str, n: int) -> list[str]:
    return [f"Here is the image that {tool} made."] if n > 0 else []


def remote_reply(
    kind: str,
    tool: str,
    provider: str,
    model_id: str,
    body: Mapping[str, Any],
    prompt: str,
    input_tokens: int,
    reasoning: Sequence[str],
    n: int,
) -> Reply:
    """The whole guessed stream of one remote tool's run and the answer after it."""
    prompt = " ".join(_DIRECTIVE.sub(" ", prompt).split())
    arguments = {"query": prompt} if kind == "search" else {"prompt": prompt}
    ident = call_id(provider, f"{body.get('message_id')}\0{tool}")
    content = [event({"reasoning": r, "text": ""}) for r in reasoning]
    flat = {"id": ident, "name": tool, "arguments": json.dumps(arguments, ensure_ascii=False)}
    content.append(event({"text": "", "finish_reason": None, "tool_calls": [flat]}))
    notice = SEARCH_NOTICE if kind == "search" else IMAGE_NOTICE
    content.append(event({"notification_type": "tool_used", "notification": notice, "text": ""}))
    if kind == "search":
        content.append(event({"references": sources(prompt), "text": ""}))
        texts = search_texts(prompt, model_id, n)
    else:
        found = {"images": [image_url(tool, prompt)], "image_count": 1, "text": ""}
        content.append(event(found))
        texts = image_texts(tool, n)
    content.extend(map(text_event, texts))
    usage = {"input_tokens": input_tokens, "output_tokens": count_tokens("".join(texts))}
    finish = {
        "text": "",
        "finish_reason": "STOP" if provider == "google" else "stop",
        "usage": usage,
    }
    return Reply(opening(provider), tuple(content), event(finish), len(reasoning))
