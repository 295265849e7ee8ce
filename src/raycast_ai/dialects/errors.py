"""The one mapping from raycast-ai's error tree to HTTP statuses, error kinds and headers; each
dialect writes an `ErrorInfo` in its own body shape.

The kinds are OpenAI's error types, the gateway's first dialect; others translate them.
Errors a retry cannot fix (a refused token, no access, no credits, no token at all) carry
`x-should-retry: false`, which the openai and anthropic SDKs honour: Claude Code otherwise
retried a 401 for three minutes.

error                                    status  type                   code
InvalidRequestError                      400     invalid_request_error  invalid_request
AttachmentError (bad file, no vision)    400     invalid_request_error  invalid_attachment
UpstreamError type context_error         400     invalid_request_error  context_length_exceeded
UpstreamError from a Raycast 400         400     invalid_request_error  upstream_bad_request
AuthenticationError (Raycast 401)        401     authentication_error   its type or upstream_...
PermissionDeniedError (Raycast 403)      403     permission_error       upstream_forbidden
ModelNotFoundError                       404     invalid_request_error  model_not_found
RateLimitError (+ retry-after)           429     rate_limit_error       rate_limit_exceeded
QuotaExceededError (+ retry-after)       429     insufficient_quota     credits_error or
                                                                       free_trial_limit
MissingAuthError (gateway has no token)  500     server_error           raycast_token_missing
StructuredOutputError                    502     upstream_error         invalid_structured_output
UpstreamError, StreamDecodeError         502     upstream_error         its type or upstream_...
UploadError, or a 5xx while uploading    502     upstream_error         upload_failed
IncompleteStreamError                    502     upstream_error         incomplete_stream
APIConnectionError                       502     upstream_error         upstream_unreachable
UpstreamError from a Raycast 503         503     upstream_error         upstream_unavailable
APITimeoutError                          504     timeout_error          upstream_timeout

A dialect may answer a status its clients know better (`Dialect.error_status`): Anthropic's
gives 503 as its 529.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import ValidationError

from raycast_ai.protocol import errors


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    status: int
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


NO_RETRY = {"x-should-retry": "false"}
# How the client words an error of the files route (`protocol.files.about_upload`); that error
# keeps its own type, so that a 401 or a 429 there still reads as one.
UPLOAD_FAILED_PREFIX = "Uploading the attachment"


def error_info(exc: errors.RaycastError) -> ErrorInfo:
    message = exc.message or str(exc) or type(exc).__name__
    kind = getattr(exc, "type", None)
    if isinstance(exc, errors.MissingAuthError):
        return ErrorInfo(500, message, "server_error", "raycast_token_missing", None, NO_RETRY)
    if isinstance(exc, errors.AttachmentError):
        return ErrorInfo(400, message, "invalid_request_error", "invalid_attachment")
    if isinstance(exc, errors.InvalidRequestError):
        return ErrorInfo(400, message, "invalid_request_error", "invalid_request")
    if isinstance(exc, errors.AuthenticationError):
        code = kind or "upstream_authentication_failed"
        return ErrorInfo(401, message, "authentication_error", code, None, NO_RETRY)
    if isinstance(exc, errors.PermissionDeniedError):
        return ErrorInfo(
            403, message, "permission_error", kind or "upstream_forbidden", None, NO_RETRY
        )
    if isinstance(exc, errors.ModelNotFoundError):
        return ErrorInfo(404, message, "invalid_request_error", "model_not_found", "model")
    if isinstance(exc, errors.RateLimitError):
        if isinstance(exc, errors.QuotaExceededError) or kind == "credits_error":
            # The wait Raycast named, for whoever reads it; an SDK retrying sooner cannot help.
            headers = NO_RETRY | _retry_after(exc.retry_after)
            return ErrorInfo(
                429, message, "insufficient_quota", kind or "credits_error", None, headers
            )
        return ErrorInfo(
            429,
            message,
            "rate_limit_error",
            kind or "rate_limit_exceeded",
            None,
            _retry_after(exc.retry_after),
        )
    if isinstance(exc, errors.APITimeoutError):
        return ErrorInfo(504, message, "timeout_error", "upstream_timeout")
    if isinstance(exc, errors.APIConnectionError):
        return ErrorInfo(502, message, "upstream_error", "upstream_unreachable")
    if isinstance(exc, errors.IncompleteStreamError):
        return ErrorInfo(502, message, "upstream_error", "incomplete_stream")
    if isinstance(exc, errors.StructuredOutputError):
        return ErrorInfo(502, message, "upstream_error", "invalid_structured_output")
    if isinstance(exc, errors.UploadError) or (
        isinstance(exc, errors.UpstreamError)
        and exc.status_code not in (400, 503)
        and message.startswith(UPLOAD_FAILED_PREFIX)
    ):
        return ErrorInfo(502, message, "upstream_error", "upload_failed")
    if isinstance(exc, errors.StreamDecodeError):
        return ErrorInfo(502, message, "upstream_error", "malformed_upstream_response")
    if isinstance(exc, errors.UpstreamError):
        if kind == "context_error":
            return ErrorInfo(400, message, "invalid_request_error", "context_length_exceeded")
        if exc.status_code == 400:
            return ErrorInfo(400, message, "invalid_request_error", kind or "upstream_bad_request")
        if exc.status_code == 503:
            return ErrorInfo(503, message, "upstream_error", kind or "upstream_unavailable")
        return ErrorInfo(502, message, "upstream_error", kind or "upstream_error")
    return ErrorInfo(502, message, "upstream_error", kind or "upstream_error")


def _retry_after(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    return {
        "retry-after": str(max(math.ceil(seconds), 0)),
        "retry-after-ms": str(max(int(seconds * 1000), 0)),
    }


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> ErrorInfo:
    return ErrorInfo(400, message, "invalid_request_error", code, param)


class BadRequest(Exception):
    """A request body a dialect refuses, with the error to answer."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


def validation_error(exc: ValidationError, shape: str = "a JSON object") -> BadRequest:
    """A 400 naming the offending field; the submitted values (prompts) are never echoed.
    `shape` says what the body must be when it is not even an object."""
    problems = exc.errors(include_input=False)
    if not problems:
        return BadRequest(invalid_request("The request body is not valid."))
    first = problems[0]
    if first.get("type") == "json_invalid" and "recursion limit" in str(first.get("msg")):
        return BadRequest(
            invalid_request(
                "The request body's JSON is nested too deep (at most about 200 levels).",
                code="json_too_deep",
            )
        )
    if first.get("type") == "json_invalid":
        return BadRequest(
            invalid_request("The request body is not valid JSON.", code="invalid_json")
        )
    param = ".".join(str(p) for p in first.get("loc", ())) or None
    if param is None:
        return BadRequest(invalid_request(f"The request body must be {shape}."))
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    message = f"Invalid request at '{param}': {first.get('msg', 'not valid')}{more}."
    return BadRequest(invalid_request(message, param=param))
