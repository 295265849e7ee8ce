"""Whether to try a request again and how long to wait first, as a pure decision; and what an
HTTP error status means.

The shells (the sync and async clients) do the sending and the sleeping. After each failed
attempt they ask `RetryPolicy.decide` with everything that matters, and do what it says:

    failure                                   decision
    connection failed, timed out, or broke    retry, unless any event was delivered
    HTTP 408, 429, 500, 502, 503, 504         retry, after Retry-After when it is given
    any other status, an error in the stream  give up
    out of retries, or of the time budget     give up
    Retry-After longer than max_retry_after   give up (waiting would look like a hang)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from math import isfinite

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RaycastError,
    UpstreamError,
)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Retry:
    delay: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    error: RaycastError


Decision = Retry | GiveUp


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt: its error, and the HTTP status and Retry-After when the failure was
    an HTTP answer (None for a connection failure or an error inside a 200 stream)."""

    error: RaycastError
    status: int | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        if self.status is not None:
            return self.status in RETRYABLE_STATUSES
        return isinstance(self.error, APIConnectionError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`budget` caps the seconds from the first attempt to the start of the last (None: none)."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 120.0
    budget: float | None = None

    def decide(
        self,
        attempt: int,
        failure: Failure,
        *,
        delivered: bool = False,
        elapsed: float = 0.0,
        random: float = 0.0,
    ) -> Decision:
        """What to do after attempt number `attempt` (0-based) failed with `failure`.

        `delivered`: some event of this answer already reached the caller, who cannot take it
        back, so the request is never sent again. `elapsed`: seconds since the first attempt
        began. `random` in [0, 1) spreads the backoff of clients that failed together.
        """
        give_up = GiveUp(failure.error)
        if delivered or not failure.retryable or attempt >= self.max_retries:
            return give_up
        if failure.retry_after is not None:
            if failure.retry_after > self.max_retry_after:
                return give_up
            delay = max(failure.retry_after, 0.0)
        else:
            delay = min(self.base_delay * 2.0**attempt, self.max_delay) * (1 - self.jitter * random)
        if self.budget is not None and elapsed + delay > self.budget:
            return give_up
        return Retry(delay)


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


def status_failure(status: int, headers: Mapping[str, str], body: bytes) -> Failure:
    """The failure of an HTTP error answer; `headers` with lower-case names."""
    retry_after = parse_retry_after(headers)
    return Failure(error_for_status(status, body, retry_after), status, retry_after)


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


def retry_words(failure: Failure, delay: float) -> str:
    """A retry said to a person: why, and how long until it ("rate limited by Raycast,
    retrying in 2 s")."""
    error = failure.error
    if isinstance(error, RateLimitError) or failure.status == 429:
        why = "rate limited by Raycast"
    elif isinstance(error, APITimeoutError):
        why = "Raycast did not answer in time"
    elif isinstance(error, APIConnectionError):
        why = "could not reach Raycast"
    elif failure.status is not None:
        why = f"Raycast answered HTTP {failure.status}"
    else:
        why = "Raycast failed"
    wait = f"{delay:.0f} s" if delay >= 1.5 else f"{delay:.1f} s"
    return f"{why}, retrying in {wait}"
