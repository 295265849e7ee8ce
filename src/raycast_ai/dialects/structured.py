"""The structured-output fields of the OpenAI dialects as the neutral `OutputSchema`: chat's
`response_format` and Responses' `text.format`. The clients build the answer (a forced tool or
an instruction, validation, one repair; see `protocol.structured`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raycast_ai.protocol.errors import InvalidRequestError
from raycast_ai.protocol.structured import OutputSchema, json_object, output_schema

from .errors import BadRequest, invalid_request


def output_format(format: object, param: str, *, nested: bool) -> OutputSchema | None:
    """`{"type": "text"}` or nothing: None; `json_object`: any JSON object; `json_schema`: its
    `schema` (any object when absent), `name` and `strict`, under `json_schema` when `nested`
    (chat completions) or beside `type` (Responses)."""
    if format is None:
        return None
    if not isinstance(format, Mapping):
        raise _bad(f"'{param}' must be an object with a 'type'.", param)
    kind = format.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return json_object()
    if kind != "json_schema":
        raise _bad(f"'{param}.type' must be text, json_object or json_schema, not {kind!r}.", param)
    where = f"{param}.json_schema" if nested else param
    spec: Any = format.get("json_schema") if nested else format
    if not isinstance(spec, Mapping):
        raise _bad(f"'{where}' must be an object with 'name' and 'schema'.", where)
    schema = spec.get("schema")
    if schema is None:
        return json_object()
    if not isinstance(schema, Mapping):
        raise _bad(f"'{where}.schema' must be a JSON Schema object.", f"{where}.schema")
    name = spec.get("name")
    try:
        return output_schema(
            schema,
            name=name if isinstance(name, str) and name else None,
            strict=spec.get("strict") is True,
        )
    except InvalidRequestError as exc:
        raise _bad(exc.message, f"{where}.schema") from None


def _bad(message: str, param: str) -> BadRequest:
    return BadRequest(invalid_request(message, param=param))
