"""When to retry a request and how long to wait, and what an HTTP error status means.

Only decisions live here; the sync and async shells do the reading and the sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from math import isfinite

from .errors import (
    APIStatusError,
    AuthenticationError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, random: float) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None to give up.

        `random` is in [0, 1); a server's Retry-After wins unless it is over `max_retry_after`,
        in which case waiting would look like a hang and the error is raised instead.
        """
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return None if retry_after > self.max_retry_after else max(retry_after, 0.0)
        backoff: float = min(self.base_delay * 2.0**attempt, self.max_delay)
        return backoff * (1 - self.jitter * random)


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    # float() also reads "nan" and "inf", which no sleep can take.
    return value if isfinite(value) else None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    ms = _number(headers.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000.0
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def upstream_message(body: bytes) -> str:
    """The message of a non-200 body: Raycast's schema is unpublished, so take what is there."""
    text = body.decode("utf-8", "replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(payload, Mapping):
        error = payload.get("error", payload)
        if isinstance(error, Mapping):
            for key in ("message", "userMessage", "detail", "error"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        elif isinstance(error, str):
            return error
    return text[:300]


def error_for_status(status: int, body: bytes, retry_after: float | None = None) -> APIStatusError:
    detail = upstream_message(body)
    said = f" Raycast said: {detail}" if detail else ""
    if status == 401:
        return AuthenticationError(
            f"Raycast rejected the token (HTTP 401).{said} Check RAYCAST_TOKEN or run "
            "'raycast-ai auth set'."
        )
    if status == 403:
        return PermissionDeniedError(
            f"Raycast refused access (HTTP 403).{said} The token, device id or plan does not "
            "allow this; recapture the token or check your subscription."
        )
    if status == 404:
        return ModelNotFoundError(f"Raycast answered HTTP 404.{said}", status_code=404)
    if status == 429:
        wait = f" Retry after {retry_after:g} s." if retry_after is not None else ""
        return RateLimitError(
            f"Raycast rate limit reached (HTTP 429).{said}{wait}", retry_after=retry_after
        )
    return UpstreamError(f"Raycast failed with HTTP {status}.{said}", status_code=status)
