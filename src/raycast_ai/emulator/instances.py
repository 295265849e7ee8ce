"""Deterministic JSON instances of a JSON Schema: what the emulated model answers when it is
forced to call a tool or told to answer in JSON, and the invalid answers the `@json:` directive
asks for.

Covers what pydantic generates for everyday models: objects (required properties, filled in),
`$ref` into `$defs`, `anyOf` / `oneOf` / `allOf`, nullable types, `enum`, `const`, arrays with
`items` / `prefixItems` / `minItems`, string lengths and common formats, numeric bounds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

MAX_DEPTH = 40
# Past this depth optional parts stay empty (no array item, null over an object), so that a
# recursive model (a tree whose children are required) ends.
SHALLOW = 4
_FORMATS = {
    "date-time": "2026-01-02T03:04:05Z",
    "date": "2026-01-02",
    "time": "03:04:05",
    "duration": "P1D",
    "email": "ada@example.com",
    "idn-email": "ada@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri-reference": "https://example.com/",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "regex": ".*",
    "json-pointer": "/a",
}


def instance(schema: object, root: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """A value valid for `schema` (references resolve against `root`, by default the schema
    itself); the same schema always gives the same value. Strings are "Paris" unless a format,
    an enum or a length says otherwise."""
    if not isinstance(schema, Mapping):
        return {} if schema is not False else None
    root = schema if root is None else root
    if depth > MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return instance(_resolve(ref, root), root, depth + 1)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        return instance(_merged(schema, all_of, root), root, depth + 1)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return instance(_preferred(options, root, depth), root, depth + 1)
    kind = _kind(schema)
    if kind == "object":
        return _object(schema, root, depth)
    if kind == "array":
        return _array(schema, root, depth)
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, kind)
    return {"boolean": True, "null": None}.get(kind, "Paris")


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    """A local reference (`#/$defs/Name`, `#`); anything else resolves to no constraint."""
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    return node


def _merged(schema: Mapping[str, Any], parts: Sequence[Any], root: Mapping[str, Any]) -> Any:
    """`allOf` as one schema: properties and required lists joined, other keys the last's."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if isinstance(part, Mapping) and isinstance(part.get("$ref"), str):
            part = _resolve(part["$ref"], root)
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _preferred(options: Sequence[Any], root: Mapping[str, Any], depth: int) -> Any:
    """The first option that is not `null`, as a model fills an Optional field; deep down,
    `null` when it is one."""
    nulls = [o for o in options if _is_null(o, root)]
    if depth >= SHALLOW and nulls:
        return nulls[0]
    return next((o for o in options if not _is_null(o, root)), options[0])


def _is_null(option: Any, root: Mapping[str, Any]) -> bool:
    if isinstance(option, Mapping) and isinstance(option.get("$ref"), str):
        option = _resolve(option["$ref"], root)
    return isinstance(option, Mapping) and option.get("type") == "null"


def _object(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    names = [str(n) for n in required] if isinstance(required, list) else []
    out: dict[str, Any] = {}
    for name in names:
        if name in properties:
            out[name] = instance(properties[name], root, depth + 1)
        else:
            extra = schema.get("additionalProperties")
            out[name] = instance(extra if isinstance(extra, Mapping) else {}, root, depth + 1)
    minimum = schema.get("minProperties")
    for name in properties:
        if isinstance(minimum, int) and len(out) < minimum and name not in out:
            out[name] = instance(properties[name], root, depth + 1)
    return out


def _array(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> list[Any]:
    prefix = schema.get("prefixItems")
    items = schema.get("items")
    out: list[Any] = []
    if isinstance(prefix, list):
        out = [instance(p, root, depth + 1) for p in prefix]
    minimum = schema.get("minItems")
    one = items is not False and depth < SHALLOW
    wanted = max(len(out), minimum if isinstance(minimum, int) else 0, int(one))
    maximum = schema.get("maxItems")
    if isinstance(maximum, int):
        wanted = min(wanted, maximum)
    if items is False:
        return out[:wanted]
    while len(out) < wanted:
        out.append(instance(items if isinstance(items, Mapping) else {}, root, depth + 1))
    return out


def _string(schema: Mapping[str, Any]) -> str:
    value = _FORMATS.get(str(schema.get("format")), "Paris")
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    if isinstance(minimum, int) and len(value) < minimum:
        value = value + "x" * (minimum - len(value))
    if isinstance(maximum, int) and len(value) > maximum:
        value = value[:maximum]
    return value


def _number(schema: Mapping[str, Any], kind: str) -> int | float:
    low = _bound(schema, "minimum", "exclusiveMinimum", kind, up=True)
    high = _bound(schema, "maximum", "exclusiveMaximum", kind, up=False)
    value: int | float = 1
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0:
        value = math.ceil(value / step) * step
        if high is not None and value > high:
            value -= step
    return int(value) if kind == "integer" else value


def _bound(
    schema: Mapping[str, Any], inclusive: str, exclusive: str, kind: str, *, up: bool
) -> int | float | None:
    value = schema.get(inclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return math.ceil(value) if kind == "integer" and up else value
    value = schema.get(exclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if kind == "integer":
            return math.floor(value) + 1 if up else math.ceil(value) - 1
        return value + 0.5 if up else value - 0.5
    return None


def invalid_json(schema: object) -> str:
    """JSON text that `schema` refuses: a valid instance without its first required property,
    an array where an object belongs, or (for a schema that takes any object) text cut short."""
    valid = instance(schema)
    if isinstance(schema, Mapping) and isinstance(valid, dict):
        required = schema.get("required")
        if isinstance(required, list) and required:
            valid.pop(str(required[0]), None)
            return encode(valid)
        return encode(["not", "an", "object"])
    return encode(valid)[:-1] or "{"  # JSON cut short


def encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
