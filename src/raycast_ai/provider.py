"""The gpt4free-style `Raycast` provider, call-compatible with the original, over the client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from .client import AsyncRaycastClient, RaycastClient
from .client._core import CHAT_OPTIONS
from .config import Settings, load_settings
from .protocol.catalog import ALIASES
from .protocol.errors import InvalidRequestError, MissingAuthError
from .protocol.events import Citation, Event, ImageLink, TextDelta
from .protocol.remote import markdown_extras
from .typing import AsyncResult, CreateResult, Messages

_CLIENT_KWARGS = ("auth", "base_url", "signing_secret", "device_id", "timeout", "max_retries")
# Passed to the client's `stream` as they are: files for the last user message.
_STREAM_KWARGS = frozenset({"attachments"})


class Raycast:
    url: ClassVar[str] = "https://raycast.com"
    supports_stream: ClassVar[bool] = True
    supports_gpt_35_turbo: ClassVar[bool] = True
    supports_gpt_4: ClassVar[bool] = True
    needs_auth: ClassVar[bool] = True
    working: ClassVar[bool] = True
    default_model: ClassVar[str] = "openai-gpt-4o-mini"
    models: ClassVar[list[str]] = [
        *ALIASES,
        "openai-gpt-4o-mini",
        "openai-gpt-4o",
        "anthropic-claude-sonnet-4",
        "google-gemini-2.5-flash",
        "raycast-ray1",
    ]

    @classmethod
    def create_completion(
        cls,
        model: str,
        messages: Messages,
        stream: bool,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> CreateResult:
        """Text pieces as they arrive (one piece with the whole answer when stream is False).

        Raises MissingAuthError at once, before any network traffic, when no token is found.
        `attachments=[...]` (`Attachment`, bytes, paths or data URLs) go with the last user
        message, uploaded before the question is sent.
        """
        settings, client_kwargs, chat = _split(kwargs)
        client = RaycastClient(settings=settings, proxy=proxy, **client_kwargs)
        return _pieces(client, model, messages, stream, chat)

    @classmethod
    def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        stream: bool = True,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> AsyncResult:
        settings, client_kwargs, chat = _split(kwargs)
        client = AsyncRaycastClient(settings=settings, proxy=proxy, **client_kwargs)
        return _async_pieces(client, model, messages, stream, chat)


def _split(kwargs: dict[str, Any]) -> tuple[Settings, dict[str, Any], dict[str, Any]]:
    unknown = set(kwargs) - set(_CLIENT_KWARGS) - CHAT_OPTIONS - _STREAM_KWARGS
    if unknown:
        raise InvalidRequestError(
            f"Raycast.create_completion got unknown arguments: {', '.join(sorted(unknown))}."
        )
    settings = load_settings(
        token=kwargs.get("auth"),
        signing_secret=kwargs.get("signing_secret"),
        device_id=kwargs.get("device_id"),
        base_url=kwargs.get("base_url"),
    )
    if not settings.token:
        raise MissingAuthError(
            "No Raycast token. Pass auth='<token>' to Raycast.create_completion, set "
            "RAYCAST_TOKEN, or run 'raycast-ai auth set'."
        )
    client_kwargs: dict[str, Any] = {
        k: kwargs[k] for k in ("timeout", "max_retries") if k in kwargs
    }
    chat = {k: v for k, v in kwargs.items() if k in CHAT_OPTIONS or k in _STREAM_KWARGS}
    return settings, client_kwargs, chat


class _Extras:
    """What remote tools gave (images, sources), to follow the text as Markdown: a provider
    yields only text."""

    __slots__ = ("images", "said", "sources")

    def __init__(self) -> None:
        self.images: list[ImageLink] = []
        self.sources: list[Citation] = []
        self.said = False

    def text(self, event: Event) -> str | None:
        if type(event) is TextDelta:
            self.said = self.said or bool(event.text)
            return event.text
        if isinstance(event, ImageLink):
            self.images.append(event)
        elif isinstance(event, Citation):
            self.sources.append(event)
        return None

    def end(self) -> str:
        return markdown_extras("x" if self.said else "", self.images, self.sources)


def _pieces(
    client: RaycastClient, model: str, messages: Messages, stream: bool, chat: dict[str, Any]
) -> Iterator[str]:
    extras = _Extras()
    with client, client.stream(messages, model or None, **chat) as events:
        texts = (t for t in map(extras.text, events) if t is not None)
        if stream:
            yield from texts
            if tail := extras.end():
                yield tail
        else:
            yield "".join(texts) + extras.end()


async def _async_pieces(
    client: AsyncRaycastClient, model: str, messages: Messages, stream: bool, chat: dict[str, Any]
) -> AsyncIterator[str]:
    extras = _Extras()
    async with client, client.stream(messages, model or None, **chat) as events:
        if stream:
            async for event in events:
                if (text := extras.text(event)) is not None:
                    yield text
            if tail := extras.end():
                yield tail
        else:
            texts = [t async for e in events if (t := extras.text(e)) is not None]
            yield "".join(texts) + extras.end()
