"""Sync and async Raycast AI clients: mirrored I/O shells around `protocol/`.

The two differ only in how they read bytes and sleep; what to send, what the bytes mean and
whether to try again come from `protocol/` through `_core.Core`.
"""

from raycast_ai.protocol.request import ChatOptions
from raycast_ai.transport.base import Timeout

from ._async import AsyncChatStream, AsyncRaycastClient
from ._catalog import DEFAULT_MODELS_TTL, MODELS_CACHE_FILE
from ._core import TimeoutLike
from ._sync import ChatStream, RaycastClient
from ._uploads import UPLOAD_TTL, UploadCache

__all__ = [
    "DEFAULT_MODELS_TTL",
    "MODELS_CACHE_FILE",
    "UPLOAD_TTL",
    "AsyncChatStream",
    "AsyncRaycastClient",
    "ChatOptions",
    "ChatStream",
    "RaycastClient",
    "Timeout",
    "TimeoutLike",
    "UploadCache",
]
