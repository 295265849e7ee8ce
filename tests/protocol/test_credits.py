"""protocol/credits.py: the credits reply (string or number amounts) and the quota errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from raycast_ai import QuotaExceededError, RateLimitError
from raycast_ai.emulator.account import credits_payload
from raycast_ai.protocol.credits import parse_credits, quota_error, retry_after
from raycast_ai.protocol.errors import StreamDecodeError, UpstreamError
from raycast_ai.protocol.events import StreamParser

FREE_TRIAL = (
    "You've reached your free trial limit of 25 AI requests per hour. Upgrade to Raycast Pro "
    "to continue, or try again in 7 minutes."
)


def test_string_amounts_as_in_the_fixture() -> None:
    found = parse_credits(json.dumps(credits_payload("strings")).encode())
    assert (found.remaining, found.total) == (Decimal("125"), Decimal("500"))
    assert found.renews_at == datetime(2026, 10, 18, tzinfo=UTC)
    assert (found.plan, found.plan_name, found.status) == ("pro", "Pro", "active")
    assert found.as_json()["remaining"] == 125 and found.as_json()["total"] == 500


def test_fractional_number_amounts() -> None:
    found = parse_credits(json.dumps(credits_payload("numbers")).encode())
    assert found.remaining == Decimal("2425.664")
    assert found.as_json()["remaining"] == 2425.664
    assert found.plan_name == "Pro+"


def test_missing_or_odd_fields_are_unknown_not_errors() -> None:
    found = parse_credits(b'{"remaining_balance_credits": "n/a", "total_balance_credits": true}')
    assert found.remaining is None and found.total is None and found.plan is None
    with pytest.raises(StreamDecodeError):
        parse_credits(b"[]")


def test_the_free_trial_line_is_a_quota_error_with_its_wait() -> None:
    error = quota_error(FREE_TRIAL, None)
    assert isinstance(error, QuotaExceededError) and isinstance(error, RateLimitError)
    assert error.retry_after == 420
    assert error.type == "free_trial_limit"
    assert error.status_code == 429
    assert "free trial limit of 25 requests per hour" in error.message
    assert "try again in 7 minutes" in error.message


def test_credits_error_is_a_quota_error() -> None:
    error = quota_error("You have used all your AI credits.", "credits_error")
    assert isinstance(error, QuotaExceededError)
    assert error.type == "credits_error" and error.retry_after is None
    assert quota_error("Something else", "context_error") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("try again in 7 minutes", 420),
        ("Try again in 1 minute.", 60),
        ("retry in 30 seconds", 30),
        ("try again in an hour", 3600),
        ("try again in 2 hours", 7200),
        ("try again later", None),
    ],
)
def test_the_wait_named_in_a_message(text: str, seconds: float | None) -> None:
    assert retry_after(text) == seconds


@pytest.mark.parametrize(
    "chunk",
    [
        {"error": {"message": FREE_TRIAL}},
        {"error": {"message": FREE_TRIAL, "type": "rate_limit"}},
        {"text": FREE_TRIAL, "finish_reason": "error"},
    ],
)
def test_the_stream_raises_it_however_it_comes(chunk: dict[str, object]) -> None:
    parser = StreamParser()
    with pytest.raises(QuotaExceededError) as info:
        parser.feed(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    assert info.value.retry_after == 420


def test_other_stream_errors_are_unchanged() -> None:
    with pytest.raises(UpstreamError):
        StreamParser().feed(b'data: {"text":"boom","finish_reason":"error"}\n\n')
