"""What the user keeps in the data folder besides preferences: imported AI Commands
(`ai_commands.json`) and roles, saved system prompts (`roles.json`). Both are private files
(0600), and a damaged one is reported with its path and the fix, never silently replaced.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from raycast_ai.config import write_json, write_private
from raycast_ai.protocol.errors import InvalidRequestError

from . import runtime

COMMANDS_FILE = "ai_commands.json"
ROLES_FILE = "roles.json"
# Raycast's creativity levels as sampling temperatures; a number in an export is taken as is.
CREATIVITY: Mapping[str, float] = {
    "none": 0.0,
    "low": 0.4,
    "medium": 0.7,
    "high": 1.0,
    "maximum": 1.3,
}


@dataclass(frozen=True, slots=True)
class AICommand:
    title: str
    prompt: str
    creativity: str | float | None = None
    model: str | None = None
    icon: str | None = None

    @property
    def temperature(self) -> float | None:
        if self.creativity is None:
            return None
        if isinstance(self.creativity, str):
            return CREATIVITY[self.creativity]
        return self.creativity

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "prompt": self.prompt,
            "creativity": self.creativity,
            "model": self.model,
            "icon": self.icon,
        }


def parse_commands(payload: object, source: str) -> list[AICommand]:
    """Raycast's AI Commands export (a JSON list of objects); unknown keys are ignored."""
    if not isinstance(payload, list):
        raise InvalidRequestError(
            f"{source}: expected a JSON list of AI Commands (Raycast's export), "
            f"found {_kind(payload)}."
        )
    return [_command(item, f"{source}: command {i}") for i, item in enumerate(payload, 1)]


def _command(item: object, where: str) -> AICommand:
    if not isinstance(item, Mapping):
        raise InvalidRequestError(f"{where} is {_kind(item)}, not an object.")
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidRequestError(f"{where} has no 'title' (a non-empty string).")
    where = f"{where} ({title!r})"
    prompt = item.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequestError(f"{where} has no 'prompt' (a non-empty string).")
    creativity = item.get("creativity")
    if isinstance(creativity, str):
        creativity = creativity.strip().lower() or None
        if creativity is not None and creativity not in CREATIVITY:
            raise InvalidRequestError(
                f"{where}: creativity {item['creativity']!r} is not one of {', '.join(CREATIVITY)}."
            )
    elif isinstance(creativity, bool) or not (
        creativity is None or (isinstance(creativity, int | float) and 0 <= creativity <= 2)
    ):
        raise InvalidRequestError(
            f"{where}: creativity must be one of {', '.join(CREATIVITY)} or a number from 0 to 2."
        )
    optional: dict[str, str | None] = {}
    for key in ("model", "icon"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidRequestError(f"{where}: '{key}' must be a string.")
        optional[key] = value or None
    return AICommand(
        title.strip(),
        prompt,
        float(creativity) if isinstance(creativity, int | float) else creativity,
        optional["model"],
        optional["icon"],
    )


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def load_json_file(path: Path, what: str, fix: str) -> object:
    """The JSON in `path` (None when there is no file); unreadable or invalid JSON is an error
    naming the file, the line and `fix`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"Cannot read {what} {path}: {_reason(exc)}. {fix}") from None
    return decode_json(text, str(path), fix)


def decode_json(text: str, source: str, fix: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). {fix}"
        ) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "not UTF-8 text"


def _store_fix(path: Path, again: str) -> str:
    return f"Move it aside (mv '{path}' '{path}.bak') and {again}."


def commands_path() -> Path:
    return runtime.home() / COMMANDS_FILE


def load_commands() -> list[AICommand]:
    path = commands_path()
    fix = _store_fix(path, "import your commands again")
    payload = load_json_file(path, "the AI Commands file", fix)
    if payload is None:
        return []
    try:
        return parse_commands(payload, str(path))
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{exc} {fix}") from None


def save_commands(commands: Sequence[AICommand]) -> None:
    text = json.dumps([c.to_json() for c in commands], ensure_ascii=False, indent=2)
    write_private(commands_path(), text + "\n")


def find_command(commands: Sequence[AICommand], title: str) -> AICommand:
    """By title: exact, else ignoring case; else an error naming the closest titles."""
    found = next((c for c in commands if c.title == title), None) or next(
        (c for c in commands if c.title.lower() == title.lower()), None
    )
    if found is not None:
        return found
    if not commands:
        raise InvalidRequestError(
            f"There is no AI Command '{title}': none imported yet. Export them from Raycast "
            "and run 'raycast-ai commands import FILE'."
        )
    titles = [c.title for c in commands]
    close = difflib.get_close_matches(title, titles, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(t) for t in close)}?" if close else ""
    raise InvalidRequestError(
        f"There is no AI Command '{title}'.{hint} Run 'raycast-ai commands list' to see them."
    )


def roles_path() -> Path:
    return runtime.home() / ROLES_FILE


def load_roles() -> dict[str, str]:
    path = roles_path()
    fix = _store_fix(path, "set your roles again with 'raycast-ai roles set NAME TEXT'")
    payload = load_json_file(path, "the roles file", fix)
    if payload is None:
        return {}
    if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
        raise InvalidRequestError(
            f"{path} is not a roles file (an object of names to texts). {fix}"
        )
    return dict(payload)


def save_roles(roles: Mapping[str, str]) -> None:
    write_json(roles_path(), dict(roles))


def system_prompt(role: str | None, system: str | None) -> str | None:
    """The system prompt `ask` and `chat` send: --system's text, or the saved role's."""
    if role is None:
        return system
    if system is not None:
        import click

        raise click.UsageError("Use --role or --system, not both.")
    roles = load_roles()
    if role in roles:
        return roles[role]
    known = ", ".join(sorted(roles)) if roles else "none yet ('raycast-ai roles set NAME TEXT')"
    raise InvalidRequestError(f"There is no role '{role}'. The roles: {known}.")
