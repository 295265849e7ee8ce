"""Pydantic models of everyday shape (nested models, lists, an enum, Optional, bounds) for the
structured-output tests of the library and the gateway, and what to read back upstream."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from raycast_ai.emulator.recorder import RecordedRequest


class Kind(StrEnum):
    city = "city"
    town = "town"


class Stop(BaseModel):
    name: str
    kind: Kind
    nights: int = Field(ge=1, le=30)
    note: str | None = None


class Trip(BaseModel):
    title: str = Field(min_length=1)
    stops: list[Stop] = Field(min_length=1)
    budget: float | None
    tags: list[str]


def forced_tool(record: RecordedRequest) -> dict[str, Any]:
    """The one local tool a structured request offered Raycast, checked to be forced."""
    body = record.json()
    (tool,) = body["tools"]
    assert tool["type"] == "local_tool"
    assert body["tool_choice"] == "required"
    function: dict[str, Any] = tool["function"]
    return function
