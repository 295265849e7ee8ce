"""The emulator's schema instances: valid for every schema of the shapes tools and structured
output use (property-tested against jsonschema, and against pydantic for its models), and the
`@json:invalid` answers refused by theirs."""

from __future__ import annotations

import datetime
import json
import uuid
from enum import IntEnum, StrEnum
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel, Field

from raycast_ai.emulator.instances import instance, invalid_json
from support_structured import Trip

FORMATS = ["date-time", "date", "time", "email", "uri", "uuid", "ipv4", "ipv6", "hostname"]
names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
scalars = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={"minLength": st.integers(0, 20), "description": st.text(max_size=10)},
    ),
    st.builds(lambda format: {"type": "string", "format": format}, st.sampled_from(FORMATS)),
    st.builds(
        lambda low, span, kind: {"type": kind, "minimum": low, "maximum": low + span},
        st.integers(-50, 50),
        st.integers(0, 10),
        st.sampled_from(["integer", "number"]),
    ),
    st.fixed_dictionaries(
        {"type": st.just("integer")},
        optional={"exclusiveMinimum": st.integers(-5, 5), "multipleOf": st.integers(1, 4)},
    ),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(lambda values: {"enum": values}, st.lists(st.text(max_size=5), min_size=1)),
    st.builds(lambda value: {"const": value}, st.integers() | st.text(max_size=5)),
    st.just({"$ref": "#/$defs/Place"}),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    objects = st.builds(
        _object,
        st.dictionaries(names, children, max_size=4),
        st.data(),
        st.booleans(),
    )
    arrays = st.builds(
        lambda items, low: {"type": "array", "items": items, "minItems": low},
        children,
        st.integers(0, 3),
    )
    nullable = st.builds(lambda inner: {"anyOf": [inner, {"type": "null"}]}, children)
    type_list = st.builds(
        lambda kind: {"type": [kind, "null"]}, st.sampled_from(["string", "integer"])
    )
    # As pydantic writes a described reference, and two open objects that both hold (on
    # properties of their own: one name under two schemas may have no instance at all).
    merged = st.builds(lambda a: {"allOf": [a], "description": "x"}, children) | st.builds(
        _open_pair, st.dictionaries(names, children, max_size=6), st.data()
    )
    return st.one_of(objects, arrays, nullable, type_list, merged)


def _object(properties: dict[str, Any], data: st.DataObject, closed: bool) -> dict[str, Any]:
    required = (
        data.draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
        if (properties)
        else []
    )
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _open_pair(properties: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    names = sorted(properties)
    halves = [{name: properties[name] for name in names[side::2]} for side in (0, 1)]
    return {"allOf": [_object(half, data, closed=False) for half in halves]}


PLACE = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "inner": {"$ref": "#/$defs/Inner"}},
    "required": ["name", "inner"],
}
INNER = {
    "type": "object",
    "properties": {"n": {"type": "integer", "minimum": 3}},
    "required": ["n"],
}
schemas = st.recursive(scalars, _extend, max_leaves=12)
roots = st.builds(
    lambda properties, data: {
        **_object(properties, data, closed=True),
        "$defs": {"Place": PLACE, "Inner": INNER},
    },
    st.dictionaries(names, schemas, min_size=1, max_size=5),
    st.data(),
)


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


@given(roots)
def test_every_instance_is_valid_for_its_schema(schema: dict[str, Any]) -> None:
    value = instance(schema)
    errors = [e.message for e in validator(schema).iter_errors(value)]
    assert errors == [], (json.dumps(schema), value)
    assert instance(schema) == value  # deterministic


@given(roots)
def test_the_invalid_answer_is_refused_by_the_schema(schema: dict[str, Any]) -> None:
    text = invalid_json(schema)
    try:
        value = json.loads(text)
    except ValueError:
        return
    assert list(validator(schema).iter_errors(value))


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Level(IntEnum):
    low = 1
    high = 2


class Address(BaseModel):
    street: str = Field(min_length=3, max_length=40)
    zip: str | None
    kind: Literal["home", "work"]


class Person(BaseModel):
    id: uuid.UUID
    born: datetime.date
    seen: datetime.datetime
    age: int = Field(ge=18, lt=130)
    score: float = Field(gt=0, le=1)
    colours: list[Colour] = Field(min_length=2)
    level: Level
    address: Address
    previous: list[Address]
    backup: Address | None
    scores: dict[str, int]
    pair: tuple[int, str]
    nickname: str | None = None


class Tree(BaseModel):
    label: str
    children: list[Tree]
    parent: Tree | None


@pytest.mark.parametrize("model", [Trip, Person, Address, Tree])
def test_instances_of_pydantic_schemas_validate_with_the_model(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    value = instance(schema)
    model.model_validate(value)
    assert list(validator(schema).iter_errors(value)) == []
    with pytest.raises(ValueError, match="validation error"):
        model.model_validate_json(invalid_json(schema))


def test_tool_arguments_keep_their_plain_values() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "unit"],
    }
    assert instance(schema) == {"city": "Paris", "unit": "c"}
