"""The one mapping from raycast-ai errors to OpenAI statuses, bodies and headers."""

from __future__ import annotations

import json

import pytest

from raycast_ai.dialects.errors import error_info
from raycast_ai.dialects.openai_chat import error_json
from raycast_ai.protocol.errors import (
    APIConnectionError,
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


@pytest.mark.parametrize(
    ("error", "status", "type", "code"),
    [
        (InvalidRequestError("bad"), 400, "invalid_request_error", "invalid_request"),
        (
            UpstreamError("too long", type="context_error", status_code=400),
            400,
            "invalid_request_error",
            "context_length_exceeded",
        ),
        (UpstreamError("x", status_code=400), 400, "invalid_request_error", "upstream_bad_request"),
        (AuthenticationError("no"), 401, "authentication_error", "upstream_authentication_failed"),
        (
            AuthenticationError("unsigned", type="signature_required"),
            401,
            "authentication_error",
            "signature_required",
        ),
        (PermissionDeniedError("no"), 403, "permission_error", "upstream_forbidden"),
        (ModelNotFoundError("?"), 404, "invalid_request_error", "model_not_found"),
        (RateLimitError("slow"), 429, "rate_limit_error", "rate_limit_exceeded"),
        (
            RateLimitError("out", type="credits_error"),
            429,
            "insufficient_quota",
            "credits_error",
        ),
        (MissingAuthError(), 500, "server_error", "raycast_token_missing"),
        (UpstreamError("500", status_code=500), 502, "upstream_error", "upstream_error"),
        (UpstreamError("503", status_code=503), 503, "upstream_error", "upstream_unavailable"),
        (StreamDecodeError("junk"), 502, "upstream_error", "malformed_upstream_response"),
        (IncompleteStreamError("cut"), 502, "upstream_error", "incomplete_stream"),
        (APIConnectionError("down"), 502, "upstream_error", "upstream_unreachable"),
        (APITimeoutError("slow"), 504, "timeout_error", "upstream_timeout"),
        (RaycastError("other"), 502, "upstream_error", "upstream_error"),
    ],
)
def test_mapping(error: RaycastError, status: int, type: str, code: str) -> None:
    info = error_info(error)
    assert (info.status, info.type, info.code) == (status, type, code)
    body = json.loads(error_json(info))
    assert body == {
        "error": {"message": error.message, "type": type, "param": info.param, "code": code}
    }


def test_model_not_found_names_the_param() -> None:
    assert error_info(ModelNotFoundError("?")).param == "model"


def test_rate_limit_forwards_retry_after() -> None:
    info = error_info(RateLimitError("slow", retry_after=1.2))
    assert info.headers == {"retry-after": "2", "retry-after-ms": "1200"}
    assert error_info(RateLimitError("slow")).headers == {}


def test_errors_that_a_retry_cannot_fix_say_so() -> None:
    assert error_info(MissingAuthError()).headers == {"x-should-retry": "false"}
    credits = error_info(RateLimitError("out", type="credits_error"))
    assert credits.headers == {"x-should-retry": "false"}


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (AuthenticationError("token expired"), "false"),
        (PermissionDeniedError("not in your plan"), "false"),
        (MissingAuthError(), "false"),
        (RateLimitError("credits used up", type="credits_error"), "false"),
        (RateLimitError("slow down", retry_after=2.0), None),
        (UpstreamError("Raycast failed", status_code=502), None),
    ],
)
def test_what_a_retry_cannot_fix_says_so(error: RaycastError, retry: str | None) -> None:
    """SDKs and agents honour x-should-retry: Claude Code retried a 401 for three minutes."""
    assert error_info(error).headers.get("x-should-retry") == retry
