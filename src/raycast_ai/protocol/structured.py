"""Structured output on a service with no JSON mode, sans I/O: the forced tool or the instruction
that asks for JSON fitting a schema, the JSON found in an answer, its validation, and the one
repair turn.

`StructuredRun` is the state machine the client shells drive: send `first()`, `feed()` it each
attempt's events (it hands back the ones to pass on at once: notices and reasoning), then
`end()` says what comes next: the answer's events (the JSON as one text, usage, finish), another
`Ask` (the repair), or it raises `StructuredOutputError`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .catalog import ModelEntry
from .completion import Collector, Completion
from .errors import InvalidRequestError, StructuredOutputError
from .events import Event, Finish, Notice, ReasoningDelta, TextDelta, Usage

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from .request import ChatOptions

DEFAULT_NAME = "answer"
# The line before the schema in the instruction: the emulator finds the schema after it.
SCHEMA_MARK = "JSON Schema of the answer:"
MAX_PROBLEM = 300
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.S)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """What an answer must be: JSON valid for `schema`. `name` names it to the model; `strict`
    is OpenAI's flag, kept for the record (every answer is validated either way); `model` is the
    pydantic class the schema came from, whose instance `parse` then gives; `any_object` is
    OpenAI's `json_object`: any JSON object."""

    schema: Mapping[str, Any]
    name: str = DEFAULT_NAME
    strict: bool = False
    model: Any = None
    any_object: bool = False

    def parse(self, text: str) -> Any:
        """The answer as the caller asked for it: the model's instance, else the JSON value."""
        if self.model is not None:
            return self.model.model_validate_json(text)
        return json.loads(text)


def json_object() -> OutputSchema:
    return OutputSchema({"type": "object"}, "json_object", any_object=True)


def output_schema(
    schema: Mapping[str, Any] | type[Any] | OutputSchema,
    *,
    name: str | None = None,
    strict: bool = False,
) -> OutputSchema:
    """An `OutputSchema` from a JSON Schema dict or a pydantic model class (anything with
    `model_json_schema` and `model_validate_json`); a schema that is not valid JSON Schema is an
    `InvalidRequestError`."""
    if isinstance(schema, OutputSchema):
        return schema
    model = None
    if isinstance(schema, type) and callable(getattr(schema, "model_json_schema", None)):
        model, schema = schema, schema.model_json_schema()
        name = name or model.__name__
    if not isinstance(schema, Mapping):
        raise InvalidRequestError(
            f"A schema must be a JSON Schema dict or a pydantic model class, not "
            f"{type(schema).__name__}."
        )
    _check_schema(schema)
    title = schema.get("title")
    chosen = name or (title if isinstance(title, str) and title else DEFAULT_NAME)
    return OutputSchema(dict(schema), chosen, strict, model)


def _check_schema(schema: Mapping[str, Any]) -> None:
    """Valid JSON Schema whose references all point inside it: nothing is ever fetched, and a
    reference to nowhere is refused now rather than failing the answer's validation later."""
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class(schema).check_schema(dict(schema))
    except SchemaError as exc:
        raise InvalidRequestError(
            f"The output schema is not a valid JSON Schema: {_bounded(exc.message)}"
        ) from None
    for ref in _refs(schema):
        if not ref.startswith("#") or _pointer(schema, ref[1:]) is None:
            raise InvalidRequestError(
                f"The output schema's $ref {_bounded(ref)!r} does not point inside it; use "
                "references into its own $defs, such as '#/$defs/Name'."
            )


def _refs(node: object) -> list[str]:
    if isinstance(node, Mapping):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _pointer(root: object, pointer: str) -> object | None:
    """What a JSON pointer (`/$defs/Name`, `` for the root) points at in `root`, or None."""
    node = root
    for part in filter(None, pointer.split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _validator_class(schema: Mapping[str, Any]) -> type[Validator]:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    found: type[Validator] = validator_for(schema, default=Draft202012Validator)
    return found


def tool_name(output: OutputSchema) -> str:
    """The forced tool's name: the schema's, in the characters every provider takes."""
    return _UNSAFE_NAME.sub("_", output.name)[:64] or DEFAULT_NAME


def tool_parameters(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema as a tool's parameters: an object with properties at its root (a root `$ref`
    into `$defs`, as pydantic writes a recursive model, is inlined); None when it is none (an
    empty object would only get `{}` back)."""
    ref = schema.get("$ref")
    defs = schema.get("$defs")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and isinstance(defs, Mapping):
        target = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
    properties = schema.get("properties")
    if schema.get("type") == "object" and isinstance(properties, Mapping) and properties:
        return schema
    return None


def uses_tool(output: OutputSchema, model: ModelEntry, options: ChatOptions) -> bool:
    """Whether to ask for the answer as a forced tool call: the model takes tools, the request
    offers none of its own, and the schema can be a tool's parameters."""
    return (
        model.supports_tools
        and not options.tools
        and not output.any_object
        and tool_parameters(output.schema) is not None
    )


def output_tool(output: OutputSchema) -> dict[str, Any]:
    """The one tool the model is forced to call; its arguments are the answer."""
    return {
        "type": "function",
        "function": {
            "name": tool_name(output),
            "description": (
                "Give your whole answer by calling this tool once; its arguments are the answer."
            ),
            "parameters": dict(tool_parameters(output.schema) or output.schema),
        },
    }


def instruction(output: OutputSchema) -> str:
    """What asks a model without tools for the JSON; the schema follows `SCHEMA_MARK`."""
    schema = json.dumps(output.schema, ensure_ascii=False, sort_keys=True)
    kind = "JSON object" if output.any_object else "JSON value"
    return (
        f"Answer with one {kind} that is valid for the JSON Schema below, and nothing else: "
        f"write it in a ```json code block.\n{SCHEMA_MARK}\n{schema}"
    )


def schema_in(text: str) -> Mapping[str, Any] | None:
    """The schema an `instruction` carries, if `text` holds one."""
    at = text.rfind(SCHEMA_MARK)
    if at < 0:
        return None
    rest = text[at + len(SCHEMA_MARK) :].lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


@dataclass(frozen=True, slots=True)
class Found:
    """A JSON value in an answer, and its text as the answer wrote it."""

    value: Any
    text: str


def extract_json(answer: str) -> Found | None:
    """The JSON in an answer: the whole text, else the first fenced block that parses (```json
    or unlabelled), else the first object or array that parses; None when there is none."""
    stripped = answer.strip()
    found = _parsed(stripped)
    if found is not None:
        return found
    for match in _FENCE.finditer(answer):
        if match.group(1).lower() in ("", "json", "jsonc", "json5"):
            found = _parsed(match.group(2).strip())
            if found is not None:
                return found
    decoder = json.JSONDecoder()
    for at, char in enumerate(answer):
        if char in "{[":
            try:
                value, end = decoder.raw_decode(answer, at)
            except ValueError:
                continue
            return Found(value, answer[at:end])
    return None


def _parsed(text: str) -> Found | None:
    if not text:
        return None
    try:
        return Found(json.loads(text), text)
    except ValueError:
        return None


def validation_problem(output: OutputSchema, value: Any) -> str | None:
    """Why `value` does not fit the schema (the most relevant error, where it is), or None."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(_frozen(output.schema)).iter_errors(value))
    if error is not None:
        return f"at {json_path(error.absolute_path)}: {_bounded(error.message)}"
    if output.model is not None:
        try:
            output.model.model_validate(value)
        except ValueError as exc:  # pydantic's ValidationError: constraints JSON Schema lacks
            return _bounded(" ".join(str(exc).split()))
    return None


def json_path(path: Sequence[object]) -> str:
    """`$`, `$.items[0].name`: where in the answer a problem is."""
    out = ["$"]
    for part in path:
        out.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(out)


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_PROBLEM else text[: MAX_PROBLEM - 1] + "…"


@functools.lru_cache(maxsize=64)
def _validator(schema: str) -> Validator:
    loaded = json.loads(schema)
    return _validator_class(loaded)(loaded)


def _frozen(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Checked:
    """An answer checked: the JSON as written (the whole answer when none was found), and the
    problem, None when valid."""

    text: str
    problem: str | None


def check(output: OutputSchema, answer: str) -> Checked:
    found = extract_json(answer)
    if found is None:
        return Checked(answer, "the answer holds no JSON")
    return Checked(found.text, validation_problem(output, found.value))


def repair_turn(answer: str, problem: str, call: tuple[str, str] | None) -> list[dict[str, Any]]:
    """The messages that send an invalid answer back: as the forced tool's call and a tool
    result saying what is wrong when `call` is its (id, name), else as text and a user turn."""
    if call is not None:
        call_id, name = call
        return [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": answer},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": call_id,
                "name": name,
                "content": (
                    f"Those arguments are not valid ({problem}). Call {name} again, with "
                    "arguments that are valid for its schema."
                ),
            },
        ]
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": (
                f"That answer is not valid ({problem}). Answer again with only the corrected "
                "JSON, valid for the JSON Schema given before, in a ```json code block."
            ),
        },
    ]


@dataclass(frozen=True, slots=True)
class Ask:
    """One request of a structured answer: messages and options, with no `output` left."""

    messages: Sequence[Mapping[str, Any]]
    options: ChatOptions


class StructuredRun:
    """One structured answer over at most two requests (the answer, then one repair)."""

    __slots__ = (
        "_ask",
        "_collector",
        "_held",
        "_usage",
        "attempts",
        "messages",
        "model",
        "options",
        "output",
        "via_tool",
    )

    def __init__(
        self,
        output: OutputSchema,
        model: ModelEntry,
        messages: Sequence[Mapping[str, Any]],
        options: ChatOptions,
    ) -> None:
        self.output = output
        self.model = model
        self.messages = messages
        self.options = options
        self.via_tool = uses_tool(output, model, options)
        self.attempts = 0
        self._ask: Ask | None = None
        self._held: list[Event] = []
        self._collector = Collector()
        self._usage: list[Usage] = []

    def first(self) -> Ask:
        options = dataclasses.replace(self.options, output=None)
        messages = list(self.messages)
        if self.via_tool:
            choice = {"type": "function", "function": {"name": tool_name(self.output)}}
            options = dataclasses.replace(
                options, tools=(output_tool(self.output),), tool_choice=choice
            )
        else:
            system = {"role": "system", "content": instruction(self.output)}
            at = next(
                (i for i, m in enumerate(messages) if m.get("role") not in ("system", "developer")),
                len(messages),
            )
            messages.insert(at, system)
        self._ask = Ask(messages, options)
        self.attempts = 1
        return self._ask

    def feed(self, events: Sequence[Event]) -> list[Event]:
        """Holds the answer's events back until it is known valid; returns those to pass on now."""
        passed: list[Event] = []
        for event in events:
            if isinstance(event, Notice | ReasoningDelta):
                passed.append(event)
            else:
                self._held.append(event)
                self._collector.add(event)
        return passed

    def end(self) -> list[Event] | Ask:
        """After an attempt's last event: the valid answer's events, or the repair to send."""
        assert self._ask is not None, "first() comes first"
        completion = self._collector.result(self.model.id)
        held, self._held, self._collector = self._held, [], Collector()
        if completion.usage is not None:
            self._usage.append(completion.usage)
        if not self.via_tool and completion.tool_calls:
            return held  # a call to one of the caller's own tools: theirs to run
        answer, call = self._answer(completion)
        checked = check(self.output, answer)
        if checked.problem is None:
            return [TextDelta(checked.text), *self._total_usage(), Finish("stop")]
        if self.attempts >= 2:
            raise StructuredOutputError(
                f"The model's answer is not valid for the requested schema, even after one "
                f"repair: {checked.problem}. Try another model, or a simpler schema.",
                problem=checked.problem,
                output=checked.text,
            )
        self.attempts += 1
        repair = repair_turn(answer, checked.problem, call)
        self._ask = Ask([*self._ask.messages, *repair], self._ask.options)
        return self._ask

    def _answer(self, completion: Completion) -> tuple[str, tuple[str, str] | None]:
        name = tool_name(self.output)
        for at, call in enumerate(completion.tool_calls):
            if call.name == name:
                return call.arguments, (call.id or f"call_{at}", name)
        return completion.text, None

    def _total_usage(self) -> list[Usage]:
        if not self._usage:
            return []
        reasoning = [u.reasoning_tokens for u in self._usage if u.reasoning_tokens is not None]
        return [
            Usage(
                input_tokens=sum(u.input_tokens for u in self._usage),
                output_tokens=sum(u.output_tokens for u in self._usage),
                reasoning_tokens=sum(reasoning) if reasoning else None,
            )
        ]


def with_parsed(completion: Completion, output: OutputSchema) -> Completion:
    """`completion` with `parsed` set, when it is the structured answer (not a call to one of
    the caller's tools)."""
    if completion.tool_calls:
        return completion
    return dataclasses.replace(completion, parsed=output.parse(completion.text))
