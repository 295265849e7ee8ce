"""Scripted turns for driving real agents: when a request offers a tool whose name matches a rule,
the model calls it with the rule's arguments; once that call's result is in the conversation, it
answers with the rule's text, where `{output}` stands for the tool's result.

    {"rules": [
        {"tool": "^Bash$", "arguments": {"command": "echo hi > created.txt"},
         "prompt": "create", "answer": "Done; the command printed: {output}"}
    ]}

`tool` and the optional `prompt` are regular expressions searched in the tool's name and in the
last user message; the first rule that matches both picks the first tool it matches. Requests no
rule matches get the emulator's usual answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT_ENV = "RAYCAST_AI_EMULATOR_SCRIPT"
OUTPUT = "{output}"
DEFAULT_ANSWER = "The tool returned: {output}"


class ScriptError(ValueError):
    """A script the emulator cannot follow: not JSON, or a rule with a missing or wrong field."""


@dataclass(frozen=True, slots=True)
class Rule:
    tool: re.Pattern[str]
    arguments: Mapping[str, Any] = field(default_factory=dict)
    answer: str = DEFAULT_ANSWER
    prompt: re.Pattern[str] | None = None

    def offers(self, tools: Sequence[Mapping[str, Any]], prompt: str) -> Mapping[str, Any] | None:
        """The first of `tools` this rule calls for `prompt`, if any."""
        if self.prompt is not None and not self.prompt.search(prompt):
            return None
        return next((t for t in tools if self.tool.search(str(t.get("name", "")))), None)


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ScriptedAnswer:
    text: str


@dataclass(frozen=True, slots=True)
class Script:
    rules: tuple[Rule, ...]

    @classmethod
    def from_json(cls, data: object) -> Script:
        """From `{"rules": [rule, ...]}`, a list of rules, or one rule."""
        if isinstance(data, Mapping) and "rules" in data:
            data = data["rules"]
        items = data if isinstance(data, list) else [data]
        if not items:
            raise ScriptError("An emulator script needs at least one rule.")
        return cls(tuple(_rule(item, at) for at, item in enumerate(items)))

    @classmethod
    def load(cls, source: str | Path) -> Script:
        """From a JSON file, or from JSON text itself (starting with `{` or `[`)."""
        text = str(source)
        if not text.lstrip().startswith(("{", "[")):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except OSError as exc:
                raise ScriptError(f"Cannot read the emulator script {source}: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ScriptError(f"The emulator script is not valid JSON: {exc}") from None
        return cls.from_json(data)

    def step(
        self,
        tools: Sequence[Mapping[str, Any]],
        messages: Sequence[Mapping[str, Any]],
        prompt: str,
    ) -> ScriptedCall | ScriptedAnswer | None:
        """What the model does next in this conversation, or None to answer as usual."""
        result = self._result(messages)
        if result is not None:
            rule, output = result
            return ScriptedAnswer(rule.answer.replace(OUTPUT, output))
        if not messages or messages[-1].get("author") != "user":
            return None
        for rule in self.rules:
            tool = rule.offers(tools, prompt)
            if tool is not None:
                return ScriptedCall(str(tool["name"]), rule.arguments)
        return None

    def _result(self, messages: Sequence[Mapping[str, Any]]) -> tuple[Rule, str] | None:
        """The rule and output of a scripted call answered after the last assistant message."""
        last = max(
            (i for i, m in enumerate(messages) if m.get("author") == "assistant"), default=-1
        )
        calls = _calls(messages[last]) if last >= 0 else []
        names = {str(call.get("id")): str(_function(call).get("name", "")) for call in calls}
        for message in messages[last + 1 :]:
            if message.get("author") != "tool":
                continue
            name = names.get(str(message.get("tool_call_id"))) or str(message.get("name") or "")
            rule = next((r for r in self.rules if r.tool.search(name)), None)
            if name and rule is not None:
                return rule, _text(message)
        return None


def _rule(item: object, at: int) -> Rule:
    where = f"Rule {at + 1} of the emulator script"
    if not isinstance(item, Mapping):
        raise ScriptError(f"{where} is not an object.")
    unknown = set(item) - {"tool", "arguments", "answer", "prompt"}
    if unknown:
        raise ScriptError(f"{where} has unknown fields: {', '.join(sorted(unknown))}.")
    arguments = item.get("arguments", {})
    answer = item.get("answer", DEFAULT_ANSWER)
    if not isinstance(arguments, Mapping):
        raise ScriptError(f"{where}: 'arguments' must be an object.")
    if not isinstance(answer, str):
        raise ScriptError(f"{where}: 'answer' must be a string.")
    prompt = item.get("prompt")
    return Rule(
        tool=_pattern(item.get("tool"), f"{where}: 'tool'"),
        arguments=dict(arguments),
        answer=answer,
        prompt=None if prompt is None else _pattern(prompt, f"{where}: 'prompt'"),
    )


def _pattern(value: object, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ScriptError(f'{where} must be a regular expression, e.g. "^(Bash|exec_command)$".')
    try:
        return re.compile(value)
    except re.error as exc:
        raise ScriptError(f"{where} is not a regular expression: {exc}.") from None


def _calls(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    calls = message.get("tool_calls")
    return [c for c in calls if isinstance(c, Mapping)] if isinstance(calls, list) else []


def _function(call: Mapping[str, Any]) -> Mapping[str, Any]:
    fn = call.get("function")
    return fn if isinstance(fn, Mapping) else call


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, Mapping):
        content = content.get("text")
    return content if isinstance(content, str) else ""


def pieces(text: str, n: int) -> list[str]:
    """`text` cut into `n` pieces (at least one) of about the same length."""
    n = max(1, min(n, len(text)))
    size = -(-len(text) // n) if text else 1
    return [text[at : at + size] for at in range(0, len(text), size)] or [""]
