"""OpenAI's model objects (`GET /v1/models`, `GET /v1/models/{id}`) from Raycast's catalog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from raycast_ai.protocol.catalog import ModelEntry


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
