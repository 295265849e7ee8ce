"""The one error tree of raycast-ai, raised by the core and mapped once at each edge.

RaycastError
├── MissingAuthError            (also a ValueError: no token was supplied anywhere)
├── InvalidRequestError         (also a ValueError: a message, option or setting we cannot send)
│   └── AttachmentError             a file that cannot be sent (unreadable, too large, no vision)
├── APIStatusError              (the service answered with an error)
│   ├── AuthenticationError         401, or an unsigned request refused
│   ├── PermissionDeniedError       403
│   ├── ModelNotFoundError          404, or a model name the catalog does not know
│   ├── RateLimitError              429 (.retry_after)
│   │   └── QuotaExceededError          AI credits used up, or the free trial's hourly limit
│   └── UpstreamError               anything else, incl. in-stream errors (.status_code, .type)
│       ├── StreamDecodeError           bytes or JSON that are not a Raycast stream
│       ├── StructuredOutputError       no answer valid for the schema, even after one repair
│       └── UploadError                 an attachment's upload failed (nothing was asked)
├── IncompleteStreamError       the stream ended before a finish reason (.partial_text)
└── APIConnectionError          could not reach the service
    └── APITimeoutError             connect or read (idle) timeout
"""

from __future__ import annotations

from collections.abc import Sequence

SIGNING_HINT = (
    "Raycast refuses requests without a valid X-Raycast-Signature-v2. Set the signing secret "
    "with 'raycast-ai auth set' or the RAYCAST_SIGNING_SECRET environment variable."
)


class RaycastError(Exception):
    """Base class of every error raycast-ai raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingAuthError(RaycastError, ValueError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "No Raycast token. Pass auth=..., run 'raycast-ai auth set' or set RAYCAST_TOKEN."
        )


class InvalidRequestError(RaycastError, ValueError):
    pass


class AttachmentError(InvalidRequestError):
    """An attachment that cannot be sent: unreadable, malformed, too large, or for a model
    without vision."""


class APIStatusError(RaycastError):
    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code
        self.type = type


class AuthenticationError(APIStatusError):
    status_code = 401


class PermissionDeniedError(APIStatusError):
    status_code = 403


class ModelNotFoundError(APIStatusError):
    status_code = 404

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        suggestions: Sequence[str] = (),
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, type="model_not_found")
        self.model = model
        self.suggestions = tuple(suggestions)


class RateLimitError(APIStatusError):
    status_code = 429

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message, type=type)
        self.retry_after = retry_after


class QuotaExceededError(RateLimitError):
    """The plan's allowance is spent: `credits_error`, or the free trial's requests per hour.
    `.retry_after` is the wait Raycast named, when it named one; retrying sooner cannot help."""


class UpstreamError(APIStatusError):
    """The service failed: an HTTP error status, or an error inside a 200 stream."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        type: str | None = None,
        partial_text: str = "",
    ) -> None:
        super().__init__(message, status_code=status_code, type=type)
        self.partial_text = partial_text


class IncompleteStreamError(RaycastError):
    """The stream stopped before Raycast said it was finished; `.partial_text` keeps what came."""

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class StreamDecodeError(UpstreamError):
    """The service sent bytes that are not a Raycast stream (bad JSON, an oversized event)."""


class StructuredOutputError(UpstreamError):
    """The model's answer did not fit the requested schema, even after one repair round trip:
    `.problem` says what is wrong and where, `.output` is the last answer (its JSON when it
    held some)."""

    def __init__(self, message: str, *, problem: str = "", output: str = "") -> None:
        super().__init__(message, type="invalid_structured_output", partial_text=output)
        self.problem = problem
        self.output = output


class APIConnectionError(RaycastError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class UploadError(UpstreamError):
    """Uploading an attachment failed, so the question was not asked (never sent without it)."""
