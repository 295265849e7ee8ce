from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.attempt import (
    RETRYABLE_STATUSES,
    Failure,
    GiveUp,
    Retry,
    RetryPolicy,
    error_for_status,
    parse_retry_after,
    status_failure,
    upstream_message,
)
from raycast_ai.protocol.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RaycastError,
    StreamDecodeError,
    UpstreamError,
)

# --- the decision, as a table -------------------------------------------------------------------

BUSY = UpstreamError("busy", status_code=503)
LIMITED = RateLimitError("slow down", retry_after=2.0)
DOWN = APIConnectionError("refused")
LATE = APITimeoutError("late")
CREDITS = RateLimitError("no credits", type="credits_error")  # inside a 200 stream


@pytest.mark.parametrize(
    ("attempt", "failure", "delivered", "elapsed", "expected"),
    [
        # what fails, before any event reached the caller
        (0, Failure(DOWN), False, 0.0, Retry(0.5)),
        (0, Failure(LATE), False, 0.0, Retry(0.5)),
        (1, Failure(DOWN), False, 0.5, Retry(1.0)),
        (2, Failure(DOWN), False, 1.5, GiveUp(DOWN)),  # out of retries
        (0, Failure(BUSY, 503), False, 0.0, Retry(0.5)),
        (0, Failure(BUSY, 502), False, 0.0, Retry(0.5)),
        (0, Failure(BUSY, 503, 3.0), False, 0.0, Retry(3.0)),  # Retry-After wins
        (0, Failure(LIMITED, 429, 2.0), False, 0.0, Retry(2.0)),
        (0, Failure(LIMITED, 429, 121.0), False, 0.0, GiveUp(LIMITED)),  # would look like a hang
        (0, Failure(UpstreamError("bad", status_code=400), 400), False, 0.0, None),
        (0, Failure(AuthenticationError("no"), 401), False, 0.0, None),
        (0, Failure(PermissionDeniedError("no"), 403), False, 0.0, None),
        (0, Failure(ModelNotFoundError("no"), 404), False, 0.0, None),
        (0, Failure(UpstreamError("teapot", status_code=418), 418), False, 0.0, None),
        # errors inside a 200 stream are answers, not accidents
        (0, Failure(CREDITS), False, 0.0, GiveUp(CREDITS)),
        (0, Failure(UpstreamError("context", type="context_error")), False, 0.0, None),
        (0, Failure(StreamDecodeError("garbage")), False, 0.0, None),
        (0, Failure(InvalidRequestError("bad option")), False, 0.0, None),
        # once an event was delivered, nothing is sent again
        (0, Failure(DOWN), True, 0.0, GiveUp(DOWN)),
        (0, Failure(IncompleteStreamError("cut")), True, 0.0, None),
        (0, Failure(BUSY, 503), True, 0.0, GiveUp(BUSY)),
    ],
)
def test_the_retry_decision(
    attempt: int,
    failure: Failure,
    delivered: bool,
    elapsed: float,
    expected: Retry | GiveUp | None,
) -> None:
    decision = RetryPolicy().decide(attempt, failure, delivered=delivered, elapsed=elapsed)
    assert decision == (expected or GiveUp(failure.error))


def test_the_time_budget_gives_up_before_a_wait_would_pass_it() -> None:
    policy = RetryPolicy(max_retries=10, budget=10.0, jitter=0.0)
    assert policy.decide(3, Failure(DOWN), elapsed=5.0) == Retry(4.0)
    assert policy.decide(3, Failure(DOWN), elapsed=6.5) == GiveUp(DOWN)
    limited = Failure(LIMITED, 429, 9.0)
    assert policy.decide(0, limited, elapsed=2.0) == GiveUp(LIMITED)


def test_a_status_failure_carries_its_status_and_retry_after() -> None:
    failure = status_failure(429, {"retry-after": "7"}, b'{"error":{"message":"slow"}}')
    assert (failure.status, failure.retry_after) == (429, 7.0)
    assert isinstance(failure.error, RateLimitError) and failure.error.retry_after == 7.0
    assert failure.retryable
    unavailable = status_failure(503, {"retry-after-ms": "250"}, b"")
    assert unavailable.retry_after == 0.25 and unavailable.retryable
    assert not status_failure(401, {}, b"").retryable


def wait(
    policy: RetryPolicy, attempt: int, retry_after: float | None, random: float
) -> float | None:
    """The wait `decide` gives a retryable HTTP failure, or None when it gives up."""
    error: RaycastError = BUSY
    decision = policy.decide(attempt, Failure(error, 503, retry_after), random=random)
    return decision.delay if isinstance(decision, Retry) else None


# --- delays -------------------------------------------------------------------------------------


def test_default_policy() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == 2
    assert wait(policy, 0, None, 0.0) == 0.5
    assert wait(policy, 1, None, 0.0) == 1.0
    assert wait(policy, 2, None, 0.0) is None


def test_delays_grow_exponentially_then_cap() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=0.5, max_delay=8.0, jitter=0.0)
    delays = [wait(policy, attempt, None, 0.5) for attempt in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    assert wait(policy, 10, None, 0.5) is None


def test_jitter_shortens_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1.0, jitter=0.25)
    assert wait(policy, 0, None, 0.0) == 1.0
    assert wait(policy, 0, None, 0.5) == pytest.approx(0.875)
    almost_one = 0.9999999
    assert wait(policy, 0, None, almost_one) == pytest.approx(0.75, abs=1e-6)
    assert wait(policy, 3, None, almost_one) == pytest.approx(6.0, abs=1e-5)


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
    delay = wait(policy, attempt, None, random)
    assert delay is not None
    backoff = min(base * 2.0**attempt, cap)
    assert backoff * (1 - jitter) - 1e-9 <= delay <= backoff + 1e-9
    assert delay <= cap + 1e-9


def test_no_retries_at_all() -> None:
    policy = RetryPolicy(max_retries=0)
    assert wait(policy, 0, None, 0.0) is None
    assert wait(policy, 0, 1.0, 0.0) is None


def test_retry_after_is_honoured_exactly() -> None:
    policy = RetryPolicy()
    assert wait(policy, 0, 3.0, 0.9) == 3.0
    assert wait(policy, 1, 0.25, 0.0) == 0.25
    assert wait(policy, 0, 60.0, 0.5) == 60.0  # longer than max_delay, still honoured


def test_retry_after_at_the_limit_is_honoured() -> None:
    assert wait(RetryPolicy(), 0, 120.0, 0.0) == 120.0


def test_retry_after_over_the_limit_gives_up() -> None:
    assert wait(RetryPolicy(), 0, 120.5, 0.0) is None
    assert wait(RetryPolicy(max_retry_after=5.0), 0, 6.0, 0.0) is None


def test_retry_after_zero_or_negative_means_now() -> None:
    assert wait(RetryPolicy(), 0, 0.0, 0.5) == 0.0
    assert wait(RetryPolicy(), 0, -4.0, 0.5) == 0.0


def test_retry_after_does_not_extend_the_number_of_retries() -> None:
    assert wait(RetryPolicy(max_retries=1), 1, 1.0, 0.0) is None


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
            delay = wait(RetryPolicy(), 0, seconds, 0.5)
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
