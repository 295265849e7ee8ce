from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.errors import (
    APIStatusError,
    AuthenticationError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
)
from raycast_ai.protocol.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    error_for_status,
    parse_retry_after,
    upstream_message,
)

# --- delays -------------------------------------------------------------------------------------


def test_default_policy() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 2
    assert policy.delay(0, None, 0.0) == 0.5
    assert policy.delay(1, None, 0.0) == 1.0
    assert policy.delay(2, None, 0.0) is None


def test_delays_grow_exponentially_then_cap() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=0.5, max_delay=8.0, jitter=0.0)
    delays = [policy.delay(attempt, None, 0.5) for attempt in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    assert policy.delay(10, None, 0.5) is None


def test_jitter_shortens_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1.0, jitter=0.25)
    assert policy.delay(0, None, 0.0) == 1.0
    assert policy.delay(0, None, 0.5) == pytest.approx(0.875)
    almost_one = 0.9999999
    assert policy.delay(0, None, almost_one) == pytest.approx(0.75, abs=1e-6)
    assert policy.delay(3, None, almost_one) == pytest.approx(6.0, abs=1e-5)


@settings(max_examples=200)
@given(
    attempt=st.integers(0, 30),
    random=st.floats(0.0, 1.0, exclude_max=True),
    base=st.floats(0.01, 5.0),
    cap=st.floats(0.01, 60.0),
    jitter=st.floats(0.0, 1.0),
)
def test_jitter_bounds(attempt: int, random: float, base: float, cap: float, jitter: float) -> None:
    policy = RetryPolicy(max_retries=31, base_delay=base, max_delay=cap, jitter=jitter)
    delay = policy.delay(attempt, None, random)
    assert delay is not None
    backoff = min(base * 2.0**attempt, cap)
    assert backoff * (1 - jitter) - 1e-9 <= delay <= backoff + 1e-9
    assert delay <= cap + 1e-9


def test_no_retries_at_all() -> None:
    policy = RetryPolicy(max_retries=0)
    assert policy.delay(0, None, 0.0) is None
    assert policy.delay(0, 1.0, 0.0) is None


def test_retry_after_is_honoured_exactly() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, 3.0, 0.9) == 3.0
    assert policy.delay(1, 0.25, 0.0) == 0.25
    assert policy.delay(0, 60.0, 0.5) == 60.0  # longer than max_delay, still honoured


def test_retry_after_at_the_limit_is_honoured() -> None:
    assert RetryPolicy().delay(0, 120.0, 0.0) == 120.0


def test_retry_after_over_the_limit_gives_up() -> None:
    assert RetryPolicy().delay(0, 120.5, 0.0) is None
    assert RetryPolicy(max_retry_after=5.0).delay(0, 6.0, 0.0) is None


def test_retry_after_zero_or_negative_means_now() -> None:
    assert RetryPolicy().delay(0, 0.0, 0.5) == 0.0
    assert RetryPolicy().delay(0, -4.0, 0.5) == 0.0


def test_retry_after_does_not_extend_the_number_of_retries() -> None:
    assert RetryPolicy(max_retries=1).delay(1, 1.0, 0.0) is None


def test_retryable_statuses() -> None:
    for status in (408, 429, 500, 502, 503, 504):
        assert status in RETRYABLE_STATUSES
    for status in (400, 401, 403, 404, 422, 501):
        assert status not in RETRYABLE_STATUSES


# --- Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": " 7 "}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"retry-after-ms": "", "retry-after": "9"}, 9.0),
    ],
)
def test_parse_retry_after_seconds_and_ms(headers: dict[str, str], seconds: float) -> None:
    assert parse_retry_after(headers) == seconds


def test_parse_retry_after_http_date_in_the_future() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after({"retry-after": format_datetime(when, usegmt=True)})
    assert seconds is not None
    assert 27.0 <= seconds <= 30.0


def test_parse_retry_after_http_date_in_the_past_is_now() -> None:
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


@pytest.mark.parametrize("zone", ["", " -0000"])
def test_parse_retry_after_date_without_a_zone_is_read_as_utc(zone: str) -> None:
    when = datetime.now(UTC) + timedelta(seconds=60)
    value = when.strftime("%a, %d %b %Y %H:%M:%S") + zone
    seconds = parse_retry_after({"retry-after": value})
    assert seconds is not None
    assert 57.0 <= seconds <= 60.0


@pytest.mark.parametrize(
    "value",
    ["", "soon", "   ", "Wed, 99 Foo 2015", "12abc", "nan", "NaN", "inf", "-inf", "1e999"],
)
def test_parse_retry_after_garbage_is_none(value: str) -> None:
    assert parse_retry_after({"retry-after": value}) is None


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_parse_retry_after_ms_garbage_is_none(value: str) -> None:
    assert parse_retry_after({"retry-after-ms": value}) is None


def test_parse_retry_after_absent() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"content-type": "application/json"}) is None


@settings(max_examples=200)
@given(st.text(max_size=40), st.text(max_size=10))
def test_parse_retry_after_never_crashes_and_gives_a_usable_delay(value: str, ms: str) -> None:
    for headers in ({"retry-after": value}, {"retry-after-ms": ms, "retry-after": value}):
        seconds = parse_retry_after(headers)
        if seconds is not None:
            delay = RetryPolicy().delay(0, seconds, 0.5)
            assert delay is None or 0.0 <= delay <= 120.0


# --- upstream messages and status errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error":{"message":"Token expired"}}', "Token expired"),
        (b'{"error":{"userMessage":"Upgrade to Pro"}}', "Upgrade to Pro"),
        (b'{"error":{"detail":"nope"}}', "nope"),
        (b'{"error":"model does not exist"}', "model does not exist"),
        (b'{"message":"Rate limited"}', "Rate limited"),
        (b'{"detail":"Not Found"}', "Not Found"),
        (b'{"error":{"error":"inner"}}', "inner"),
        (b"  plain text  ", "plain text"),
        (b"", ""),
        (b"[1,2]", "[1,2]"),
        (b'{"error":{"code":5}}', '{"error":{"code":5}}'),
        ('{"error":{"message":"模型不存在"}}'.encode(), "模型不存在"),
        (b"bad \xff byte", "bad \ufffd byte"),
    ],
)
def test_upstream_message(body: bytes, message: str) -> None:
    assert upstream_message(body) == message


def test_upstream_message_truncates_long_bodies() -> None:
    html = b"<html>" + b"x" * 5000 + b"</html>"
    assert upstream_message(html) == html.decode()[:300]


def test_401() -> None:
    error = error_for_status(401, json.dumps({"error": {"message": "Invalid token"}}).encode())
    assert isinstance(error, AuthenticationError)
    assert error.status_code == 401
    assert "HTTP 401" in error.message
    assert "Raycast said: Invalid token" in error.message
    assert "RAYCAST_TOKEN" in error.message
    assert "raycast-ai auth set" in error.message


def test_403() -> None:
    error = error_for_status(403, b"Forbidden by CF-Worker policy")
    assert isinstance(error, PermissionDeniedError)
    assert error.status_code == 403
    assert "HTTP 403" in error.message
    assert "Raycast said: Forbidden by CF-Worker policy" in error.message


def test_404() -> None:
    error = error_for_status(404, b'{"error":"model does not exist"}')
    assert isinstance(error, ModelNotFoundError)
    assert error.status_code == 404
    assert "Raycast said: model does not exist" in error.message


def test_429_with_retry_after() -> None:
    error = error_for_status(429, b'{"error":{"message":"Slow down"}}', retry_after=3.0)
    assert isinstance(error, RateLimitError)
    assert error.status_code == 429
    assert error.retry_after == 3.0
    assert "Raycast said: Slow down" in error.message
    assert "Retry after 3 s." in error.message


def test_429_without_retry_after() -> None:
    error = error_for_status(429, b"")
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None
    assert "Retry after" not in error.message
    assert "Raycast said" not in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 400, 408, 418, 422])
def test_other_statuses_are_upstream_errors(status: int) -> None:
    error = error_for_status(status, b'{"error":{"message":"Provider unavailable"}}')
    assert type(error) is UpstreamError
    assert error.status_code == status
    assert f"HTTP {status}" in error.message
    assert "Raycast said: Provider unavailable" in error.message


def test_empty_body_has_no_quote() -> None:
    error = error_for_status(502, b"   ")
    assert error.message == "Raycast failed with HTTP 502."


@settings(max_examples=100)
@given(st.integers(400, 599), st.binary(max_size=200))
def test_error_for_status_always_gives_a_status_error(status: int, body: bytes) -> None:
    error = error_for_status(status, body)
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert f"HTTP {status}" in error.message
