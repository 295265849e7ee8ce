"""What differs between the g4f versions the provider supports (6.7.1 and 8.x), in one place.

Both versions drive an `AsyncGeneratorProvider` the same way (6.x through its own
`create_completion`, 8.x through `get_provider_method`), and both have the response types the
provider yields. They differ in the errors: 8.x added `BadRequestError`, which 6.x lacks.
"""

from __future__ import annotations

from g4f import errors as g4f_errors

from raycast_ai.protocol.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    MissingAuthError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RaycastError,
    UpstreamError,
)

_BAD_REQUEST: type[Exception] = getattr(g4f_errors, "BadRequestError", g4f_errors.ResponseError)

# The first entry whose class `error` is an instance of decides, so the base class is last.
_ERRORS: tuple[tuple[type[RaycastError], type[Exception]], ...] = (
    (MissingAuthError, g4f_errors.MissingAuthError),
    (AuthenticationError, g4f_errors.MissingAuthError),
    (PermissionDeniedError, g4f_errors.ResponseStatusError),
    (RateLimitError, g4f_errors.RateLimitError),
    (ModelNotFoundError, g4f_errors.ModelNotFoundError),
    (InvalidRequestError, _BAD_REQUEST),
    (APITimeoutError, g4f_errors.TimeoutError),
    (UpstreamError, g4f_errors.ResponseStatusError),
    (APIConnectionError, g4f_errors.ResponseError),
    (RaycastError, g4f_errors.ResponseError),
)


def g4f_error(error: RaycastError) -> Exception:
    """The g4f exception a g4f user catches for `error`, with our message; the original stays
    reachable as `raycast_error` (and as the cause, where it is raised from)."""
    kind = next(g4f for ours, g4f in _ERRORS if isinstance(error, ours))
    converted = kind(error.message)
    converted.raycast_error = error  # type: ignore[attr-defined]
    return converted
