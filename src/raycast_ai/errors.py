"""The public error tree; see `raycast_ai.protocol.errors` for the hierarchy."""

from .protocol.errors import (
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
    UploadError,
    UpstreamError,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AttachmentError",
    "AuthenticationError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "MissingAuthError",
    "ModelNotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RaycastError",
    "StreamDecodeError",
    "UploadError",
    "UpstreamError",
]
