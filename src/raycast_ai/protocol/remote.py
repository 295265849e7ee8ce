"""Raycast's remote tools (run on Raycast's servers): their names, the request entries, and what
their replies may carry.

The request entry `{"name": ..., "type": "remote_tool"}` is recorded from the app. The reply is
not: no public capture shows a stream in which Raycast ran one (raycast-protocol.md 9.2). What
is read here are the guesses other clients and emulators made, read defensively: `references`
(or `citations`) as sources, `image` / `images` (top level or under `content`) as image URLs.
Whatever else a chunk holds is described to a `Report` callback (the client logs it at debug
level) and otherwise ignored.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import Catalog, ModelEntry
from .errors import InvalidRequestError

# Told what a chunk held that the parser does not understand (what it is, and the value): the
# shells log it, formatting it only when their log level asks for it.
Report = Callable[[str, object], None]


def ignore(description: str, value: object) -> None:
    """The default `Report`: nothing."""


WEB_SEARCH = "web_search"
# The names other Raycast clients send (m-tric's list, 2026); only the first two are recorded
# from the app. A name not here is refused unless sent as a raw `tools` entry.
KNOWN_REMOTE_TOOLS: tuple[str, ...] = (
    "web_search",
    "search_images",
    "read_page",
    "dalle",
    "gpt_image",
    "gemini_image",
    "nano_banana",
    "flux",
    "flux-kontext",
    "stable_diffusion",
    "chart",
)
# Chunk keys the parser reads; any other is logged at debug level.
KNOWN_CHUNK_KEYS = frozenset(
    {
        "text",
        "reasoning",
        "finish_reason",
        "tool_calls",
        "tool_call",
        "usage",
        "error",
        "notification_type",
        "notification",
        "status",
        "status_page_url",
        "content",
        "references",
        "citations",
        "image",
        "images",
        "image_count",
        "complete",
    }
)
_URL_SCHEMES = ("https://", "http://")


@dataclass(frozen=True, slots=True)
class Citation:
    """A source a remote tool (web search) used; `number` counts from 1 in order of arrival."""

    url: str
    title: str = ""
    snippet: str = ""
    number: int = 0


@dataclass(frozen=True, slots=True)
class ImageLink:
    """An image a remote tool made or found, by URL (http(s), or a `data:image/` URL)."""

    url: str


def remote_tool_names(
    names: Iterable[str], *, known: Sequence[str] = KNOWN_REMOTE_TOOLS
) -> tuple[str, ...]:
    """`names` checked and deduplicated, in order; an unknown name is an error listing the known
    ones (a new tool can still be sent unchecked as a raw `tools` entry, see `ChatOptions`)."""
    if isinstance(names, str):
        raise InvalidRequestError(
            f"remote_tools takes a list of names, e.g. [{names!r}], not a string."
        )
    out: list[str] = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InvalidRequestError(
                f"Unknown Raycast remote tool {name!r}.{hint} The known ones are "
                f"{', '.join(known)}. To send another name unchecked, add "
                f'{{"type": "remote_tool", "name": ...}} to tools.'
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def check_model(entry: ModelEntry, names: Iterable[str], catalog: Catalog | None = None) -> None:
    """Refuses web search for a model whose catalog entry says it cannot search (BYOK and
    OpenRouter chats cannot use remote tools at all, and never reach this catalog)."""
    if WEB_SEARCH not in names or entry.supports_web_search:
        return
    able = [e.id for e in catalog.visible() if e.supports_web_search][:6] if catalog else []
    hint = f" Models that can: {', '.join(able)}." if able else ""
    raise InvalidRequestError(
        f"Model '{entry.id}' cannot use Raycast's web search (its catalog entry has no "
        f"web_search ability); pick another model.{hint}"
    )


def citations(chunk: Mapping[str, Any], report: Report = ignore) -> list[tuple[str, str, str]]:
    """The (url, title, snippet) of each source in a chunk's `references` or `citations`, top
    level or under `content`; entries without an http(s) URL are skipped."""
    found: list[tuple[str, str, str]] = []
    for holder in _holders(chunk):
        for key in ("references", "citations"):
            raw = holder.get(key)
            if raw is None:
                continue
            if not isinstance(raw, list):
                report(f"{key} that is not a list", raw)
                continue
            for entry in raw:
                source = _source(entry)
                if source is None:
                    report(f"a {key} entry without an http(s) url", entry)
                else:
                    found.append(source)
    return found


def images(chunk: Mapping[str, Any], report: Report = ignore) -> list[str]:
    """The image URLs of a chunk's `image` (a string) and `images` (strings, or objects with a
    `url`), top level or under `content`."""
    found: list[str] = []
    for holder in _holders(chunk):
        values: list[object] = []
        one = holder.get("image")
        if one is not None:
            values.append(one)
        many = holder.get("images")
        if isinstance(many, list):
            values.extend(many)
        elif many is not None:
            values.append(many)
        for value in values:
            url = value.get("url") if isinstance(value, Mapping) else value
            if isinstance(url, str) and _image_url(url):
                found.append(url)
            else:
                report("an image that is not a URL", value)
    return found


def unknown_keys(chunk: Mapping[str, Any], report: Report) -> None:
    unknown = [k for k in chunk if k not in KNOWN_CHUNK_KEYS]
    if unknown:
        report(f"keys {unknown}", chunk)


def _holders(chunk: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = chunk.get("content")
    return [chunk, content] if isinstance(content, Mapping) else [chunk]


def _source(entry: object) -> tuple[str, str, str] | None:
    if isinstance(entry, str):
        return (entry, "", "") if entry.startswith(_URL_SCHEMES) else None
    if not isinstance(entry, Mapping):
        return None
    url = entry.get("url") or entry.get("link")
    if not isinstance(url, str) or not url.startswith(_URL_SCHEMES):
        return None
    title = entry.get("title") or entry.get("name")
    snippet = entry.get("summary") or entry.get("description") or entry.get("snippet")
    return (
        url,
        _one_line(title) if isinstance(title, str) else "",
        snippet.strip() if isinstance(snippet, str) else "",
    )


def _image_url(url: str) -> bool:
    return url.startswith(_URL_SCHEMES) or url.startswith("data:image/")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def markdown_images(links: Iterable[ImageLink], after: str = "x") -> str:
    """Images as Markdown, one paragraph each, to follow the text `after` (the blank line
    before the first is left out when that text is empty)."""
    images = "".join(f"\n\n![image]({_escape_url(i.url)})" for i in links)
    return images if after else images.lstrip("\n")


def markdown_sources(sources: Sequence[Citation]) -> str:
    """A "Sources:" list of numbered Markdown links, after a blank line; "" when none."""
    if not sources:
        return ""
    lines = [
        f"{c.number or n}. [{_escape_text(c.title or c.url)}]({_escape_url(c.url)})"
        for n, c in enumerate(sources, 1)
    ]
    return "\n\nSources:\n" + "\n".join(lines)


def markdown_extras(before: str, images: Sequence[ImageLink], sources: Sequence[Citation]) -> str:
    """What remote tools gave, as Markdown to follow the text `before`: images, then sources."""
    text = markdown_images(images, after=before)
    listed = markdown_sources(sources)
    return text + (listed if before or text else listed.lstrip("\n"))


def _escape_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _escape_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def citation_span(text: str, citation: Citation) -> tuple[int, int]:
    """Where `text` cites `citation`: its URL, else its marker `[n]`; else an empty span at the
    end (the answer does not say where it used the source)."""
    at = text.find(citation.url)
    if at >= 0:
        return at, at + len(citation.url)
    marker = f"[{citation.number}]"
    at = text.find(marker) if citation.number else -1
    if at >= 0:
        return at, at + len(marker)
    return len(text), len(text)
