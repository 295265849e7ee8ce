"""The `llm` plugin: every catalog model as `raycast/<catalog id>`, sync and async, over the
library's clients.

The models come from the catalog the library keeps in its data folder, however old, so `llm`
starts without a network call. With no catalog there yet (the very first start), the plugin
fetches it once when it finds a token, and the library keeps it; without a token it offers the
default model alone until `llm raycast models --refresh` runs with one. The token is llm's key
`raycast` (`llm keys set raycast`), else RAYCAST_TOKEN, else the raycast-ai config file.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import click
import llm
from llm.parts import (
    AttachmentPart,
    StreamEvent,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from pydantic import Field, field_validator

from raycast_ai.attachments import Attachment
from raycast_ai.client import AsyncRaycastClient, RaycastClient
from raycast_ai.config import Settings, load_settings
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import (
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from raycast_ai.protocol.files import IMAGE_TYPES

from ._catalog import fetch_catalog, kept_catalog

PREFIX = "raycast/"
KEY = "raycast"
KEY_ENV = "RAYCAST_TOKEN"
FALLBACK = ModelEntry(id="openai-gpt-4o-mini", model="gpt-4o-mini", provider="openai")
FIRST_FETCH_TIMEOUT = 5.0


@llm.hookimpl  # type: ignore[untyped-decorator]
def register_models(register: Any) -> None:
    for entry in catalog_models():
        register(RaycastChat(entry), RaycastAsyncChat(entry))


@llm.hookimpl  # type: ignore[untyped-decorator]
def register_commands(cli: click.Group) -> None:
    @cli.group(name="raycast")
    def raycast() -> None:
        """Raycast AI models (the raycast-ai plugin)."""

    @raycast.command(name="models")
    @click.option("--refresh", is_flag=True, help="Fetch the list from Raycast now.")
    def models(refresh: bool) -> None:
        """List the Raycast models llm offers, as raycast/<id>."""
        try:
            entries = fetch_catalog(token(), timeout=30.0).visible() if refresh else None
        except RaycastError as exc:
            raise click.ClickException(exc.message) from exc
        for entry in entries or catalog_models():
            click.echo(f"{PREFIX}{entry.id}  {entry.name}")


def token() -> str | None:
    """llm's key `raycast`, else RAYCAST_TOKEN, else the raycast-ai config file."""
    return llm.get_key(alias=KEY, env=KEY_ENV) or load_settings().token


def catalog_models() -> list[ModelEntry]:
    """The kept catalog's models; on the very first start, fetched once if a token is found."""
    catalog = kept_catalog()
    key = token() if catalog is None else None
    if key:
        try:
            catalog = fetch_catalog(key, timeout=FIRST_FETCH_TIMEOUT)
        except RaycastError:
            catalog = None  # offline: the default model now, another try on the next start
    return list(catalog.visible()) if catalog is not None else [FALLBACK]


def _options_for(entry: ModelEntry) -> type[llm.Options]:
    efforts = entry.reasoning_efforts

    class Options(llm.Options):  # type: ignore[misc]
        temperature: float | None = Field(
            default=None, ge=0, le=2, description="Sampling temperature, 0 to 2."
        )
        reasoning_effort: str | None = Field(
            default=None,
            description=(
                f"How hard the model thinks: {', '.join(efforts)}."
                if efforts
                else "This model does not take a reasoning effort."
            ),
        )

        @field_validator("reasoning_effort")
        @classmethod
        def _known_effort(cls, value: str | None) -> str | None:
            if value is None or value in efforts:
                return value
            if not efforts:
                raise ValueError(f"{entry.id} does not take a reasoning effort")
            raise ValueError(f"{entry.id} takes a reasoning effort of {', '.join(efforts)}")

    return Options


class _Raycast:
    needs_key = KEY
    key_env_var = KEY_ENV
    can_stream = True
    supports_schema = False

    def __init__(self, entry: ModelEntry) -> None:
        self.entry = entry
        self.model_id = PREFIX + entry.id
        self.supports_tools = entry.supports_tools
        vision = entry.abilities.get("vision")
        sees = isinstance(vision, Mapping) and bool(vision.get("supported"))
        self.attachment_types = frozenset(IMAGE_TYPES) if sees else frozenset()
        self.Options = _options_for(entry)

    def __str__(self) -> str:
        return f"Raycast: {self.model_id}"

    def get_key(self, explicit_key: str | None = None) -> str | None:
        """llm's lookup (--key, `llm keys set raycast`, RAYCAST_TOKEN), then raycast-ai's own
        config file; llm's error, naming both commands, when none has one."""
        found = llm.get_key(input=explicit_key, alias=KEY, env=KEY_ENV)
        if found:
            return str(found)
        stored = load_settings().token
        if stored:
            return stored
        raise llm.NeedsKeyException(
            f"No Raycast token - add one using 'llm keys set {KEY}', set {KEY_ENV}, "
            "or run 'raycast-ai auth set'"
        )

    def settings(self, key: str | None) -> Settings:
        return load_settings(token=self.get_key(key))

    def chat(self, prompt: Any) -> dict[str, Any]:
        options = {
            name: value
            for name in ("temperature", "reasoning_effort")
            if (value := getattr(prompt.options, name, None)) is not None
        }
        if prompt.tools:
            options["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description or "",
                        "parameters": tool.input_schema or {"type": "object", "properties": {}},
                    },
                }
                for tool in prompt.tools
            ]
        return options


class RaycastChat(_Raycast, llm.KeyModel):  # type: ignore[misc]
    def execute(
        self, prompt: Any, stream: bool, response: Any, conversation: Any, key: str | None = None
    ) -> Iterator[Any]:
        messages = neutral_messages(prompt)
        try:
            with (
                RaycastClient(settings=self.settings(key)) as client,
                client.stream(messages, self.entry.id, **self.chat(prompt)) as events,
            ):
                record = Record(response)
                for event in events:
                    yield from record.add(event)
                record.done()
        except RaycastError as exc:
            raise llm.ModelError(exc.message) from exc


class RaycastAsyncChat(_Raycast, llm.AsyncKeyModel):  # type: ignore[misc]
    async def execute(
        self, prompt: Any, stream: bool, response: Any, conversation: Any, key: str | None = None
    ) -> AsyncIterator[Any]:
        messages = neutral_messages(prompt)
        try:
            async with (
                AsyncRaycastClient(settings=self.settings(key)) as client,
                client.stream(messages, self.entry.id, **self.chat(prompt)) as events,
            ):
                record = Record(response)
                async for event in events:
                    for piece in record.add(event):
                        yield piece
                record.done()
        except RaycastError as exc:
            raise llm.ModelError(exc.message) from exc


class Record:
    """Turns our events into llm's stream events, and keeps on `response` what llm logs: the
    tool calls and the token counts."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.calls: list[list[str]] = []
        self.usage: Usage | None = None

    def add(self, event: Event) -> Iterator[Any]:
        if isinstance(event, TextDelta):
            yield StreamEvent(type="text", chunk=event.text)
        elif isinstance(event, ReasoningDelta):
            yield StreamEvent(type="reasoning", chunk=event.text)
        elif isinstance(event, ToolCallDelta):
            if event.index == len(self.calls):
                self.calls.append([event.id, event.name, ""])
                yield StreamEvent(type="tool_call_name", chunk=event.name, tool_call_id=event.id)
            self.calls[event.index][2] += event.arguments
            if event.arguments:
                call_id = self.calls[event.index][0]
                yield StreamEvent(
                    type="tool_call_args", chunk=event.arguments, tool_call_id=call_id
                )
        elif isinstance(event, Usage):
            self.usage = event

    def done(self) -> None:
        for call_id, name, arguments in self.calls:
            self.response.add_tool_call(
                llm.ToolCall(
                    tool_call_id=call_id, name=name, arguments=json.loads(arguments or "{}")
                )
            )
        if self.usage is not None:
            details = (
                {"reasoning_tokens": self.usage.reasoning_tokens}
                if self.usage.reasoning_tokens
                else None
            )
            self.response.set_usage(
                input=self.usage.input_tokens, output=self.usage.output_tokens, details=details
            )


def neutral_messages(prompt: Any) -> list[dict[str, Any]]:
    """llm's messages (the conversation so far and this prompt) as the library's OpenAI-style
    messages; attachments become attachment parts, which the client uploads."""
    out: list[dict[str, Any]] = []
    for message in prompt.messages:
        text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
        if message.role == "tool":
            out.extend(
                {"role": "tool", "tool_call_id": p.tool_call_id or "", "content": p.output}
                for p in message.parts
                if isinstance(p, ToolResultPart)
            )
            continue
        files = [
            attachment(p.attachment)
            for p in message.parts
            if isinstance(p, AttachmentPart) and p.attachment is not None
        ]
        entry: dict[str, Any] = {"role": message.role, "content": text}
        if files:
            entry["content"] = [{"type": "text", "text": text}, *(f.part() for f in files)]
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        if calls:
            entry["tool_calls"] = [
                {
                    "id": c.tool_call_id or "",
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in calls
            ]
        if text or files or calls:
            out.append(entry)
    return out


def attachment(given: Any) -> Attachment:
    """An llm attachment (a path, bytes or a URL llm downloads) as ours."""
    if given.path:
        return Attachment.from_path(given.path, content_type=given.resolve_type())
    return Attachment.from_bytes(given.content_bytes(), content_type=given.resolve_type())
