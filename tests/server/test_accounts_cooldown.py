"""How long an account rests after each refusal (`server.pool.cooldown_for`)."""

from __future__ import annotations

import pytest

from raycast_ai.protocol.credits import quota_error
from raycast_ai.protocol.errors import QuotaExceededError, RateLimitError
from raycast_ai.server.pool import (
    MAX_COOLDOWN,
    QUOTA_COOLDOWN,
    RATE_LIMIT_COOLDOWN,
    cooldown_for,
)

FREE_TRIAL = (
    "You've reached your free trial limit of 25 AI requests per hour. Try again in 7 minutes."
)


@pytest.mark.parametrize(
    ("error", "seconds"),
    [
        (RateLimitError("429", retry_after=12.5), 12.5),
        (RateLimitError("429"), RATE_LIMIT_COOLDOWN),
        (RateLimitError("429", retry_after=0), 0.0),  # no rest: the next request goes
        (RateLimitError("429", retry_after=10**9), MAX_COOLDOWN),
        (QuotaExceededError("credits", type="credits_error"), QUOTA_COOLDOWN),
        (quota_error(FREE_TRIAL, None), 420.0),
        (RateLimitError("credits", type="credits_error"), QUOTA_COOLDOWN),
    ],
)
def test_the_wait_raycast_named_else_the_default_of_its_kind(
    error: RateLimitError, seconds: float
) -> None:
    assert cooldown_for(error) == seconds
