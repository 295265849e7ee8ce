"""`Raycast` as a real g4f provider, over `AsyncRaycastClient`:

    from g4f.client import Client
    from raycast_ai.integrations.g4f import Raycast

    answer = Client().chat.completions.create(
        model="openai-gpt-4o-mini", messages=[...], provider=Raycast, api_key=TOKEN
    )

`api_key` is the Raycast token (else RAYCAST_TOKEN or the config file, as everywhere); the other
settings (RAYCAST_BASE_URL, RAYCAST_SIGNING_SECRET, ...) are read as the library reads them.
Reasoning, tool calls and usage come out as g4f's `Reasoning`, `ToolCalls` and `Usage`; every
failure is a g4f exception carrying our message (`_g4f_compat`).
"""

from __future__ import annotations

try:
    from g4f.providers.base_provider import AsyncGeneratorProvider, ProviderModelMixin
    from g4f.providers.response import FinishReason, Reasoning, ToolCalls, Usage
except ImportError as exc:  # pragma: no cover - exercised in a venv without g4f
    raise ImportError(
        "raycast_ai.integrations.g4f needs g4f, which is not installed: "
        "pip install 'raycast-ai[g4f]'"
    ) from exc

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar

from raycast_ai.attachments import Attachment
from raycast_ai.client import AsyncRaycastClient
from raycast_ai.config import Settings, load_settings
from raycast_ai.protocol.catalog import ALIASES, Catalog
from raycast_ai.protocol.errors import MissingAuthError, RaycastError
from raycast_ai.protocol.events import (
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from raycast_ai.protocol.events import Usage as RaycastUsage

from ._catalog import fetch_catalog, kept_catalog
from ._g4f_compat import g4f_error

# g4f's arguments that mean the same to Raycast; the rest (stop, max_tokens, ...) it drops, as
# g4f's own providers drop what their service does not take.
_CHAT_ARGUMENTS = ("temperature", "reasoning_effort", "tools", "tool_choice")
NO_TOKEN = (
    "No Raycast token: pass api_key='<your Raycast token>', set RAYCAST_TOKEN, or run "
    "'raycast-ai auth set'."
)


class Raycast(AsyncGeneratorProvider, ProviderModelMixin):  # type: ignore[misc]
    label = "Raycast AI"
    url = "https://raycast.com"
    login_url = "https://raycast.com/pro"
    working = True
    needs_auth = True
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    supports_native_tools = True  # 8.x: tool calls go to Raycast, not g4f's prompt emulation
    default_model = "openai-gpt-4o-mini"
    models: ClassVar[list[str]] = [default_model]
    model_aliases: ClassVar[dict[str, str]] = dict(ALIASES)
    vision_models: ClassVar[list[str]] = []

    @classmethod
    def get_models(cls, api_key: str | None = None, **kwargs: Any) -> list[str]:
        """The catalog's ids: from the catalog kept in the data folder, else fetched once with
        the token (`api_key`, else the settings), else the default model alone."""
        catalog = kept_catalog() or _fetched_catalog(api_key)
        if catalog is not None:
            cls.models = [entry.id for entry in catalog.visible()]
            cls.vision_models = [e.id for e in catalog.visible() if _sees(e.abilities)]
            cls.default_model = catalog.default().id
        cls.models_loaded = True
        return list(cls.models)

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        proxy: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        try:
            client = AsyncRaycastClient(
                settings=_settings(api_key, kwargs.get("base_url")),
                proxy=proxy or None,
                timeout=float(timeout) if timeout else None,
            )
            chat = {k: kwargs[k] for k in _CHAT_ARGUMENTS if kwargs.get(k) is not None}
            files = _attachments(kwargs.get("media"))
            if files:
                chat["attachments"] = files
            name = None if model in ("", "auto") else model
            async with client, client.stream(messages, name, **chat) as events:
                async for piece in _g4f_pieces(events):
                    yield piece
        except RaycastError as exc:
            raise g4f_error(exc) from exc


async def _g4f_pieces(events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Text as `str`, reasoning as `Reasoning`; then the tool calls, the usage and last the
    finish reason, since g4f's client stops reading at a `FinishReason`."""
    calls: list[dict[str, Any]] = []
    usage: RaycastUsage | None = None
    finish = ""
    async for event in events:
        if isinstance(event, TextDelta):
            yield event.text
        elif isinstance(event, ReasoningDelta):
            yield Reasoning(event.text)
        elif isinstance(event, ToolCallDelta):
            if event.index == len(calls):
                function = {"name": event.name, "arguments": ""}
                calls.append({"id": event.id, "type": "function", "function": function})
            calls[event.index]["function"]["arguments"] += event.arguments
        elif isinstance(event, RaycastUsage):
            usage = event
        elif isinstance(event, Finish):
            finish = event.reason
    if calls:
        yield ToolCalls(calls)
    if usage is not None:
        details = (
            {} if usage.reasoning_tokens is None else {"reasoning_tokens": usage.reasoning_tokens}
        )
        yield Usage(
            prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens, **details
        )
    yield FinishReason("tool_calls" if calls else finish or "stop")


def _attachments(media: object) -> list[Attachment]:
    """g4f's `media`, `[(data, filename), ...]`: bytes, a path or a data URL each."""
    found = []
    for item in media if isinstance(media, list | tuple) else ():
        data, name = item if isinstance(item, list | tuple) else (item, None)
        if isinstance(data, bytes | bytearray):
            found.append(Attachment.from_bytes(bytes(data), filename=name or None))
        else:
            found.append(Attachment.of(data))
    return found


def _settings(api_key: str | None, base_url: object) -> Settings:
    settings = load_settings(
        token=api_key or None, base_url=base_url if isinstance(base_url, str) else None
    )
    if not settings.token:
        raise MissingAuthError(NO_TOKEN)
    return settings


def _fetched_catalog(api_key: str | None) -> Catalog | None:
    token = api_key or load_settings().token
    if not token:
        return None
    try:
        return fetch_catalog(token, timeout=10.0)
    except RaycastError:
        return None


def _sees(abilities: Mapping[str, Any]) -> bool:
    vision = abilities.get("vision")
    return bool(vision.get("supported")) if isinstance(vision, Mapping) else vision is True
