"""The model catalog (GET /api/v1/ai/models) and name resolution that never falls back silently."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelNotFoundError, StreamDecodeError

# The seed provider's model names, kept working for code written against it.
ALIASES: Mapping[str, str] = {
    "gpt-3.5-turbo": "openai-gpt-4o-mini",
    "gpt-4": "openai-gpt-4o",
}

MAX_SHOWN_NAME = 200


_DATE_SUFFIX = re.compile(r"[-@](?:20\d{6}|20\d\d-\d\d-\d\d|latest)$")


def normalized_name(name: str) -> str:
    """A model name without a trailing date or "latest", and with dashes for dots. Case stays:
    ids are case-sensitive."""
    name = _DATE_SUFFIX.sub("", name.strip())
    return name.replace(".", "-").replace("_", "-")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str
    model: str
    provider: str
    name: str = ""
    provider_name: str = ""
    context: int | None = None
    requires_better_ai: bool = False
    availability: str = "public"
    abilities: Mapping[str, Any] = field(default_factory=dict)

    @property
    def deprecated(self) -> bool:
        return self.availability == "deprecated"

    @property
    def supports_temperature(self) -> bool:
        return _supported(self.abilities.get("temperature"), default=True)

    @property
    def supports_tools(self) -> bool:
        return _supported(self.abilities.get("tools"), default=True)

    @property
    def supports_vision(self) -> bool:
        """Reads images: only when the catalog says so (an image is never sent on a guess)."""
        return _supported(self.abilities.get("vision"), default=False)

    @property
    def supports_web_search(self) -> bool:
        """Raycast's web search (a remote tool): entries list `web_search` when they can; an
        entry with no abilities at all says nothing, so it is allowed."""
        if "web_search" not in self.abilities:
            return not self.abilities
        return _supported(self.abilities["web_search"], default=True)

    @property
    def reasoning_efforts(self) -> tuple[str, ...]:
        effort = self.abilities.get("reasoning_effort")
        if not isinstance(effort, Mapping) or not _supported(effort, default=True):
            return ()
        return tuple(str(o) for o in effort.get("options") or ())

    @property
    def default_reasoning_effort(self) -> str | None:
        effort = self.abilities.get("reasoning_effort")
        if not self.reasoning_efforts or not isinstance(effort, Mapping):
            return None
        default = effort.get("default")
        return str(default) if default in self.reasoning_efforts else None


def _supported(ability: object, *, default: bool) -> bool:
    if isinstance(ability, Mapping):
        return bool(ability.get("supported", default))
    if isinstance(ability, bool):
        return ability
    return default


@dataclass(frozen=True, slots=True)
class Catalog:
    models: tuple[ModelEntry, ...]
    default_models: Mapping[str, str] = field(default_factory=dict)
    # Looked up on every request; the first entry wins when ids repeat.
    _by_id: Mapping[str, ModelEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in reversed(self.models)})

    @classmethod
    def parse(cls, payload: object) -> Catalog:
        if not isinstance(payload, Mapping) or not isinstance(payload.get("models"), list):
            raise StreamDecodeError("Raycast's model list has no 'models' array.")
        entries = tuple(e for e in map(_entry, payload["models"]) if e is not None)
        defaults = payload.get("default_models")
        return cls(
            entries,
            {str(k): str(v) for k, v in defaults.items()} if isinstance(defaults, Mapping) else {},
        )

    def get(self, model_id: str) -> ModelEntry | None:
        return self._by_id.get(model_id)

    def default(self, surface: str = "chat") -> ModelEntry:
        for key in (surface, "chat"):
            entry = self.get(self.default_models.get(key, ""))
            if entry is not None:
                return entry
        if not self.models:
            raise ModelNotFoundError("Raycast's model list is empty.")
        return self.models[0]

    def resolve(self, name: str | None, aliases: Mapping[str, str] | None = None) -> ModelEntry:
        """A catalog id, then a provider model name, then an alias, then the same name written
        another way (a date suffix or dots for dashes, as coding agents send them:
        `claude-sonnet-4-20250514` for `claude-sonnet-4`, `gpt-4.1` for `gpt-4-1`); anything
        else is an error naming the closest ids, never another model silently."""
        if not name:
            return self.default()
        entry = self.get(name) or next((e for e in self.models if e.model == name), None)
        if entry is None:
            target = {**ALIASES, **(aliases or {})}.get(name)
            entry = self.get(target) if target else None
        if entry is None:
            entry = self._spelled_otherwise(name)
        if entry is None:
            # A name far longer than any model id is neither compared nor echoed whole.
            long = len(name) > MAX_SHOWN_NAME
            shown = name[:MAX_SHOWN_NAME] + "..." if long else name
            ids = [e.id for e in self.models]
            close = [] if long else difflib.get_close_matches(name, ids, n=3, cutoff=0.4)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ModelNotFoundError(
                f"Unknown model '{shown}'.{hint} Run 'raycast-ai models' to list the model ids.",
                model=shown,
                suggestions=close,
            )
        return entry

    def _spelled_otherwise(self, name: str) -> ModelEntry | None:
        """The one entry whose id or provider model is `name` once both are normalised; None
        when none is, or when several are (ambiguous is not found). Public entries win over
        deprecated ones."""
        wanted = normalized_name(name)
        found = [
            e for e in self.models if wanted in (normalized_name(e.model), normalized_name(e.id))
        ]
        if len(found) > 1:
            found = [e for e in found if not e.deprecated] or found
        return found[0] if len(found) == 1 else None

    def rerouted_to(self, notice: str, requested: ModelEntry) -> ModelEntry:
        """The model a reroute notice says answered instead of `requested`: the one whose
        name, id or provider model the text after "to" names (the longest that fits), else
        the requested one. Raycast's wording is unpublished; the emulator's is "... rerouted
        to GPT-4o mini."."""
        text = notice.lower()
        at = max(text.rfind(" to "), 0)
        tail = text[at:]
        found: tuple[int, ModelEntry] | None = None
        for entry in self.models:
            if entry is requested:
                continue
            for label in (entry.name, entry.id, entry.model):
                label = label.lower()
                if label and label in tail and (found is None or len(label) > found[0]):
                    found = (len(label), entry)
        return requested if found is None else found[1]

    def visible(self, *, premium: bool = True, deprecated: bool = False) -> Sequence[ModelEntry]:
        return [
            e
            for e in self.models
            if (premium or not e.requires_better_ai) and (deprecated or not e.deprecated)
        ]


def _entry(raw: object) -> ModelEntry | None:
    if not isinstance(raw, Mapping):
        return None
    model_id, model = raw.get("id"), raw.get("model")
    if not isinstance(model_id, str) or not model_id:
        return None
    context = raw.get("context")
    abilities = raw.get("abilities")
    return ModelEntry(
        id=model_id,
        model=model if isinstance(model, str) and model else model_id,
        provider=str(raw.get("provider") or ""),
        name=str(raw.get("name") or model_id),
        provider_name=str(raw.get("provider_name") or raw.get("provider") or ""),
        context=context if isinstance(context, int) and not isinstance(context, bool) else None,
        requires_better_ai=bool(raw.get("requires_better_ai", False)),
        availability=str(raw.get("availability") or "public"),
        abilities=dict(abilities) if isinstance(abilities, Mapping) else {},
    )
