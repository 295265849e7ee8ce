"""Collects a stream of events into one finished answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import (
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


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    finish_reason: str
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    notices: tuple[Notice, ...] = ()
    # The structured answer (`complete(..., schema=...)`): the pydantic model's instance, or
    # the JSON value for a dict schema; None otherwise.
    parsed: Any = None
    # What Raycast's remote tools gave (web search sources, image URLs), in order of arrival.
    citations: tuple[Citation, ...] = ()
    images: tuple[ImageLink, ...] = ()

    @property
    def rerouted(self) -> Notice | None:
        return next((n for n in self.notices if n.rerouted), None)


class Collector:
    __slots__ = (
        "_calls",
        "_citations",
        "_images",
        "_notices",
        "_reasoning",
        "_text",
        "finish_reason",
        "usage",
    )

    def __init__(self) -> None:
        self._citations: list[Citation] = []
        self._images: list[ImageLink] = []
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[list[str]] = []
        self._notices: list[Notice] = []
        self.usage: Usage | None = None
        self.finish_reason = ""

    @property
    def text(self) -> str:
        return "".join(self._text)

    def add(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta):
            if event.index == len(self._calls):
                self._calls.append([event.id, event.name, ""])
            self._calls[event.index][2] += event.arguments
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
        elif isinstance(event, Citation):
            self._citations.append(event)
        elif isinstance(event, ImageLink):
            self._images.append(event)
        elif event.kind not in ("ping", "provider_status"):
            self._notices.append(event)

    def result(self, model: str) -> Completion:
        return Completion(
            text=self.text,
            model=model,
            finish_reason=self.finish_reason,
            reasoning="".join(self._reasoning),
            tool_calls=tuple(ToolCall(*call) for call in self._calls),
            usage=self.usage,
            notices=tuple(self._notices),
            citations=tuple(self._citations),
            images=tuple(self._images),
        )
