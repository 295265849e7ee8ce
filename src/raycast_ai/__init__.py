"""raycast-ai: Raycast AI outside the Raycast app.

The library never imports the gateway, the CLI, FastAPI, click or rich.
"""

from .client import AsyncChatStream, AsyncRaycastClient, ChatStream, RaycastClient, Timeout
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RaycastError,
    StreamDecodeError,
    UpstreamError,
)
from .protocol.catalog import Catalog, ModelEntry
from .protocol.completion import Completion, ToolCall
from .protocol.events import (
    Event,
    Finish,
    Notice,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from .provider import Raycast

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AsyncRaycastClient",
    "AuthenticationError",
    "Catalog",
    "ChatStream",
    "Completion",
    "Event",
    "Finish",
    "IncompleteStreamError",
    "InvalidRequestError",
    "MissingAuthError",
    "ModelEntry",
    "ModelNotFoundError",
    "Notice",
    "PermissionDeniedError",
    "RateLimitError",
    "Raycast",
    "RaycastClient",
    "RaycastError",
    "ReasoningDelta",
    "StreamDecodeError",
    "TextDelta",
    "Timeout",
    "ToolCall",
    "ToolCallDelta",
    "UpstreamError",
    "Usage",
    "__version__",
]
