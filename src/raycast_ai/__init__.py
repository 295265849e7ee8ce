"""raycast-ai: Raycast AI outside the Raycast app.

The library never imports the gateway, the CLI, Starlette, uvicorn, click or rich (nor needs
them installed: they are the `server` and `cli` extras). Apart from the errors, its names load on
first use (PEP 562), so that importing a submodule such as `raycast_ai.cli` does not pay for
httpx2 and the client.
"""

from __future__ import annotations

from importlib import import_module

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AttachmentError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    RaycastError,
    StreamDecodeError,
    StructuredOutputError,
    UploadError,
    UpstreamError,
)

# typing.TYPE_CHECKING without importing typing, which alone costs a CLI start ~15 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .attachments import Attachment
    from .client import AsyncChatStream, AsyncRaycastClient, ChatStream, RaycastClient, Timeout
    from .protocol.catalog import Catalog, ModelEntry
    from .protocol.completion import Completion, ToolCall
    from .protocol.credits import Credits
    from .protocol.events import (
        Citation,
        Event,
        Finish,
        ImageLink,
        Notice,
        ReasoningDelta,
        TextDelta,
        ToolCallDelta,
        Usage,
    )
    from .provider import Raycast

__version__ = "0.1.0"

_LAZY = {
    "Attachment": ".attachments",
    **dict.fromkeys(
        ("AsyncChatStream", "AsyncRaycastClient", "ChatStream", "RaycastClient", "Timeout"),
        ".client",
    ),
    **dict.fromkeys(("Catalog", "ModelEntry"), ".protocol.catalog"),
    **dict.fromkeys(("Completion", "ToolCall"), ".protocol.completion"),
    "Credits": ".protocol.credits",
    **dict.fromkeys(
        (
            "Citation",
            "Event",
            "Finish",
            "ImageLink",
            "Notice",
            "ReasoningDelta",
            "TextDelta",
            "ToolCallDelta",
            "Usage",
        ),
        ".protocol.events",
    ),
    "Raycast": ".provider",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AsyncRaycastClient",
    "Attachment",
    "AttachmentError",
    "AuthenticationError",
    "Catalog",
    "ChatStream",
    "Citation",
    "Completion",
    "Credits",
    "Event",
    "Finish",
    "ImageLink",
    "IncompleteStreamError",
    "InvalidRequestError",
    "MissingAuthError",
    "ModelEntry",
    "ModelNotFoundError",
    "Notice",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "Raycast",
    "RaycastClient",
    "RaycastError",
    "ReasoningDelta",
    "StreamDecodeError",
    "StructuredOutputError",
    "TextDelta",
    "Timeout",
    "ToolCall",
    "ToolCallDelta",
    "UploadError",
    "UpstreamError",
    "Usage",
    "__version__",
]
