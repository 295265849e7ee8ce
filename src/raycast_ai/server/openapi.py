"""The gateway's OpenAPI document (`GET /openapi.json`), built from the dialects' request models.

Each chat route's schema keeps its `$defs` inside it, so its `$ref`s point there.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from raycast_ai import __version__

from .routes import CHAT_ROUTES, OWN_ROUTES

_JSON = "application/json"
_ERROR = {"description": "An error, in the dialect's error shape", "content": {_JSON: {}}}


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _get(summary: str, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", "content": {_JSON: {}}}, "default": _ERROR},
    }
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def _chat(path: str, name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": f"A chat answer ({name})",
            "requestBody": {"required": True, "content": {_JSON: {"schema": schema}}},
            "responses": {
                "200": {
                    "description": "The answer: a JSON body, or a stream of server-sent events",
                    "content": {_JSON: {}, "text/event-stream": {}},
                },
                "default": _ERROR,
            },
        }
    }


@cache
def openapi_document() -> dict[str, Any]:
    model_id = {"name": "model_id", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, Any] = {
        "/health": _get("The gateway is up"),
        "/ready": _get("A Raycast token is set and Raycast's model list was fetched recently"),
        "/v1/models": _get("The models Raycast offers"),
        "/v1/models/{model_id}": _get("One model, by any name chat accepts", [model_id]),
    }
    for path, dialect in {**CHAT_ROUTES, **OWN_ROUTES}.items():
        at = f"#/paths/{_pointer(path)}/post/requestBody/content/{_pointer(_JSON)}/schema"
        schema = dialect.request_schema(at + "/$defs/{model}")
        paths[path] = _chat(path, dialect.name, schema)
    response_id = {**model_id, "name": "response_id"}
    stored = _get("A stored response (POST /v1/responses without store: false)", [response_id])
    stored["delete"] = _get("Delete a stored response", [response_id])["get"]
    paths["/v1/responses/{response_id}"] = stored
    paths["/v1/responses/{response_id}/input_items"] = _get(
        "A stored response's input items", [response_id]
    )
    count = {**paths["/v1/responses"]["post"], "summary": "Input tokens, estimated locally"}
    paths["/v1/responses/input_tokens"] = {"post": count}
    return {
        "openapi": "3.1.0",
        "info": {"title": "raycast-ai gateway", "version": __version__},
        "paths": paths,
    }
