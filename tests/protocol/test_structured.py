"""protocol.structured: JSON found in answers (fenced or not), validation messages, the forced
tool or the instruction, and the run's decisions as a table of events in and events out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.completion import Completion
from raycast_ai.protocol.errors import InvalidRequestError, StructuredOutputError
from raycast_ai.protocol.events import (
    Finish,
    Notice,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.protocol.structured import (
    Ask,
    OutputSchema,
    StructuredRun,
    check,
    extract_json,
    instruction,
    json_object,
    json_path,
    output_schema,
    output_tool,
    schema_in,
    tool_name,
    uses_tool,
    with_parsed,
)

TOOLS = ModelEntry("m", "m", "openai")
NO_TOOLS = ModelEntry("p", "p", "perplexity", abilities={"tools": {"supported": False}})
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
containers = st.lists(json_values, max_size=4) | st.dictionaries(st.text(), json_values)
prose = st.text(st.characters(exclude_characters='{}[]`"', exclude_categories=["Cs"]))


@given(json_values)
def test_a_whole_answer_of_json_is_found(value: Any) -> None:
    text = json.dumps(value)
    found = extract_json(f"  {text}\n")
    assert found is not None and found.value == value and found.text == text


@given(containers, prose, prose, st.sampled_from(["json", "JSON", ""]))
def test_json_in_a_fence_is_found_among_prose(
    value: Any, before: str, after: str, label: str
) -> None:
    text = json.dumps(value, indent=2)
    found = extract_json(f"{before}\n```{label}\n{text}\n```\n{after}")
    assert found is not None and found.value == value


@given(st.dictionaries(st.text(), json_values, min_size=1), prose, prose)
def test_an_unfenced_object_in_prose_is_found(
    value: dict[str, Any], before: str, after: str
) -> None:
    text = json.dumps(value)
    found = extract_json(f"{before} {text} {after}")
    assert found is not None and found.value == value and found.text == text


def test_a_fence_of_another_language_is_passed_over_for_the_json_after_it() -> None:
    answer = '```python\nprint({"a": 1})\n```\nand the answer:\n```json\n{"b": 2}\n```'
    found = extract_json(answer)
    assert found is not None and found.value == {"b": 2}


@pytest.mark.parametrize("answer", ["", "Paris.", "```json\n{oops\n```", "{not json}"])
def test_no_json_is_none(answer: str) -> None:
    assert extract_json(answer) is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"city": "Paris", "days": 2}', None),
        ('{"city": "Paris"}', "at $: 'days' is a required property"),
        ('{"city": "Paris", "days": 0}', "at $.days: 0 is less than the minimum of 1"),
        ("[1, 2]", "at $: [1, 2] is not of type 'object'"),
        ("I cannot answer that.", "the answer holds no JSON"),
    ],
)
def test_problems_say_what_and_where(answer: str, problem: str | None) -> None:
    assert check(output_schema(CITY), answer).problem == problem


def test_paths_name_items_and_keys() -> None:
    assert json_path([]) == "$"
    assert json_path(["stops", 0, "name"]) == "$.stops[0].name"


def test_a_long_problem_is_bounded() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    problem = check(output_schema(schema), json.dumps({"a": "x" * 5000})).problem
    assert problem is not None and len(problem) <= 310 and problem.endswith("…")


class City(BaseModel):
    city: str
    days: int


def test_a_pydantic_class_gives_its_schema_name_and_instances() -> None:
    output = output_schema(City)
    assert output.schema == City.model_json_schema()
    assert output.name == "City" and output.model is City
    assert output.parse('{"city": "Oslo", "days": 3}') == City(city="Oslo", days=3)
    assert output_schema(CITY).parse('{"city": "Oslo"}') == {"city": "Oslo"}


@pytest.mark.parametrize(
    "ref", ["#/$defs/Missing", "https://example.com/schema.json", "other.json#/a"]
)
def test_a_reference_outside_the_schema_is_refused(ref: str) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}, "$defs": {"B": {}}}
    with pytest.raises(InvalidRequestError, match="does not point inside it"):
        output_schema(schema)
    output_schema({**schema, "properties": {"a": {"$ref": "#/$defs/B"}, "b": {"$ref": "#"}}})


def test_a_schema_that_is_not_json_schema_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="not a valid JSON Schema"):
        output_schema({"type": "nope"})
    with pytest.raises(InvalidRequestError, match="pydantic model class"):
        output_schema([1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("output", "model", "options", "expected"),
    [
        (output_schema(CITY), TOOLS, ChatOptions(), True),
        (output_schema(CITY), NO_TOOLS, ChatOptions(), False),
        (json_object(), TOOLS, ChatOptions(), False),
        (output_schema({"type": "object"}), TOOLS, ChatOptions(), False),
        (output_schema({"type": "array"}), TOOLS, ChatOptions(), False),
        (output_schema(CITY), TOOLS, ChatOptions(tools=[{"type": "function"}]), False),
    ],
)
def test_when_the_answer_is_a_forced_tool(
    output: OutputSchema, model: ModelEntry, options: ChatOptions, expected: bool
) -> None:
    assert uses_tool(output, model, options) is expected


class Tree(BaseModel):
    label: str
    children: list[Tree]


def test_a_recursive_model_is_inlined_into_the_tool() -> None:
    output = output_schema(Tree)
    assert "$ref" in output.schema  # pydantic's root reference
    assert uses_tool(output, TOOLS, ChatOptions())
    parameters = output_tool(output)["function"]["parameters"]
    assert parameters["type"] == "object" and "$ref" not in parameters
    assert parameters["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert "Tree" in parameters["$defs"]


def test_tool_names_are_safe() -> None:
    assert tool_name(OutputSchema(CITY, "my schema.v2")) == "my_schema_v2"
    assert tool_name(OutputSchema(CITY, "x" * 80)) == "x" * 64


@given(st.dictionaries(st.text(), json_values, max_size=4))
def test_the_instruction_carries_its_schema(schema: dict[str, Any]) -> None:
    assert schema_in(instruction(OutputSchema(schema))) == schema


def run(model: ModelEntry = TOOLS, **options: Any) -> StructuredRun:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Go"}]
    return StructuredRun(output_schema(CITY), model, messages, ChatOptions(**options))


def call(arguments: str) -> list[Any]:
    return [ToolCallDelta(0, "toolu_1", "answer", arguments), Finish("tool_calls")]


def test_the_first_request_forces_the_tool() -> None:
    ask = run().first()
    assert ask.options.output is None
    (tool,) = ask.options.tools
    assert tool["function"]["parameters"] == CITY
    assert ask.options.tool_choice == {"type": "function", "function": {"name": "answer"}}
    assert ask.messages[-1] == {"role": "user", "content": "Go"}


def test_without_tools_the_instruction_follows_the_system_messages() -> None:
    ask = run(NO_TOOLS).first()
    assert ask.options.tools == ()
    assert [m["role"] for m in ask.messages] == ["system", "system", "user"]
    assert schema_in(ask.messages[1]["content"]) == CITY


def test_notices_and_reasoning_pass_at_once_and_the_answer_once_valid() -> None:
    structured = run()
    structured.first()
    ping, thought = Notice("ping"), ReasoningDelta("hmm")
    assert structured.feed([ping, thought, *call('{"city": "Oslo", ')]) == [ping, thought]
    assert structured.feed([ToolCallDelta(0, "", "", '"days": 2}'), Usage(5, 7)]) == []
    assert structured.end() == [
        TextDelta('{"city": "Oslo", "days": 2}'),
        Usage(5, 7),
        Finish("stop"),
    ]


def test_an_invalid_answer_asks_once_for_a_repair_and_then_raises() -> None:
    structured = run()
    first = structured.first()
    structured.feed([*call('{"city": "Oslo"}'), Usage(5, 7)])
    repair = structured.end()
    assert isinstance(repair, Ask)
    assistant, result = repair.messages[len(first.messages) :]
    assert assistant["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    assert result["role"] == "tool" and result["tool_call_id"] == "toolu_1"
    assert "'days' is a required property" in result["content"]
    assert repair.options == first.options
    structured.feed([*call('{"city": "Oslo", "days": 0}'), Usage(9, 3)])
    with pytest.raises(StructuredOutputError) as raised:
        structured.end()
    assert raised.value.problem == "at $.days: 0 is less than the minimum of 1"
    assert raised.value.output == '{"city": "Oslo", "days": 0}'
    assert raised.value.type == "invalid_structured_output"


def test_a_repair_that_works_reports_the_usage_of_both_requests() -> None:
    structured = run(NO_TOOLS)
    structured.first()
    structured.feed([TextDelta("Sure: Oslo"), Usage(5, 7, 1), Finish("stop")])
    repair = structured.end()
    assert isinstance(repair, Ask)
    assert repair.messages[-2] == {"role": "assistant", "content": "Sure: Oslo"}
    assert repair.messages[-1]["role"] == "user"
    structured.feed([TextDelta('```json\n{"city": "Oslo", "days": 2}\n```'), Usage(9, 3)])
    assert structured.end() == [
        TextDelta('{"city": "Oslo", "days": 2}'),
        Usage(14, 10, 1),
        Finish("stop"),
    ]


def test_a_call_to_the_callers_own_tool_passes_unvalidated() -> None:
    weather = {"type": "function", "function": {"name": "weather"}}
    structured = run(tools=[weather])
    ask = structured.first()
    assert ask.options.tools == [weather]  # theirs, and the schema as an instruction
    events = [ToolCallDelta(0, "c1", "weather", "{}"), Finish("tool_calls")]
    structured.feed(events)
    assert structured.end() == events


def test_parsed_is_set_on_the_structured_answer_only() -> None:
    answer = Completion('{"city": "Oslo", "days": 2}', "m", "stop")
    assert with_parsed(answer, output_schema(City)).parsed == City(city="Oslo", days=2)
