"""Raycast's dynamic placeholders in an AI Command's prompt, found and filled, without I/O.

`{selection}`, `{clipboard}`, `{argument name="tone" default="calm"}` (an unnamed `{argument}`
is called `argument`, the next `argument2`, ...), `{date}`, `{time}`, `{datetime}`, `{day}`,
`{uuid}`, each optionally followed by modifiers (`{selection | trim | uppercase}`). What is
not one of these, or has attributes or modifiers this module does not know, stays as written:
`unsupported()` lists them so the caller can warn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

_ATTRIBUTE = r"""[a-zA-Z][\w-]*\s*=\s*(?:"[^"]*"|'[^']*'|[^\s|}"']+)"""
PLACEHOLDER = re.compile(
    r"\{\s*(?P<kind>[a-zA-Z][\w-]*)"
    rf"(?P<attributes>(?:\s+{_ATTRIBUTE})*)"
    r"\s*(?P<modifiers>(?:\|\s*[a-zA-Z][\w-]*\s*)*)\}"
)
_PAIR = re.compile(r"""([a-zA-Z][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s|}"']+))""")

MODIFIERS: Mapping[str, Callable[[str], str]] = {
    "uppercase": str.upper,
    "lowercase": str.lower,
    "trim": str.strip,
    "percent-encode": lambda text: quote(text, safe=""),
    "json-stringify": lambda text: json.dumps(text, ensure_ascii=False),
    "raw": lambda text: text,
}
# Filled from the context; attributes beyond these are Raycast's (offsets, formats) and unknown.
CONTEXT = frozenset({"selection", "clipboard", "date", "time", "datetime", "day", "uuid"})
ARGUMENT = "argument"
ARGUMENT_ATTRIBUTES = frozenset({"name", "default", "options"})


@dataclass(frozen=True, slots=True)
class Placeholder:
    source: str  # as written in the prompt
    kind: str
    attributes: Mapping[str, str]
    modifiers: tuple[str, ...]
    name: str = ""  # the argument's name, for arguments

    @property
    def supported(self) -> bool:
        if any(m not in MODIFIERS for m in self.modifiers):
            return False
        if self.kind == ARGUMENT:
            return True  # Raycast adds attributes now and then; the known ones are enough
        return self.kind in CONTEXT and not self.attributes


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    default: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    placeholders: tuple[Placeholder, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        found: list[Placeholder] = []
        unnamed = 0
        for match in PLACEHOLDER.finditer(text):
            kind = match["kind"].lower()
            attributes = {
                key.lower(): "".join(values)  # one of the three spellings matched
                for key, *values in _PAIR.findall(match["attributes"])
            }
            modifiers = tuple(
                m.strip().lower() for m in match["modifiers"].split("|")[1:] if m.strip()
            )
            name = ""
            if kind == ARGUMENT:
                name = attributes.get("name", "")
                if not name:
                    unnamed += 1
                    name = ARGUMENT if unnamed == 1 else f"{ARGUMENT}{unnamed}"
            found.append(Placeholder(match[0], kind, attributes, modifiers, name))
        return cls(text, tuple(found))

    def needs(self, kind: str) -> bool:
        return any(p.kind == kind and p.supported for p in self.placeholders)

    def arguments(self) -> tuple[Argument, ...]:
        """Each argument once, in order of appearance; a default or options given on any of
        its occurrences count."""
        merged: dict[str, Argument] = {}
        for p in self.placeholders:
            if p.kind != ARGUMENT or not p.supported:
                continue
            seen = merged.get(p.name, Argument(p.name))
            default = seen.default if seen.default is not None else p.attributes.get("default")
            options = seen.options or tuple(
                o.strip() for o in p.attributes.get("options", "").split(",") if o.strip()
            )
            merged[p.name] = Argument(p.name, default, options)
        return tuple(merged.values())

    def unsupported(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.source for p in self.placeholders if not p.supported))

    def fill(self, context: Mapping[str, str], arguments: Mapping[str, str]) -> str:
        """The prompt with every supported placeholder replaced; the caller supplies a value
        for each context kind `needs` and each of `arguments()`."""
        found = iter(self.placeholders)  # in the order `sub` meets them

        def value(match: re.Match[str]) -> str:
            p = next(found)
            if not p.supported:
                return p.source
            text = arguments[p.name] if p.kind == ARGUMENT else context[p.kind]
            for modifier in p.modifiers:
                text = MODIFIERS[modifier](text)
            return text

        return PLACEHOLDER.sub(value, self.text)
