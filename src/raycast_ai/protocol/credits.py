"""What is left of the month's AI credits (`GET /api/v1/ai/credits`), and the quota errors a chat
stream can end with (`credits_error`, the free trial's hourly limit), as values. No I/O.

The credits reply is known from CodexBar's live check (reference 9.5): amounts come as strings
or numbers, fractional; the free-trial line from one recorded reply (its `type` unknown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import QuotaExceededError, StreamDecodeError

CREDITS_PATH = "/api/v1/ai/credits"
ME_PATH = "/api/v1/me"

PLANS = {"pro": "Pro", "pro_plus": "Pro+", "max": "Max"}

_FREE_TRIAL = re.compile(r"free trial limit", re.IGNORECASE)
_LIMIT = re.compile(r"limit of (\d+) (?:AI )?requests? per (hour|day|minute)", re.IGNORECASE)
_WAIT = re.compile(
    r"(?:try again|retry) in (?:about |approximately )?(\d+(?:\.\d+)?|an?|one) "
    r"(second|sec|minute|min|hour)s?\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600}


@dataclass(frozen=True, slots=True)
class Credits:
    """`remaining` and `total` are exact decimals (the service sends e.g. "425.664");
    `renews_at` is when the next grant arrives; `plan` the tier (pro, pro_plus, max)."""

    remaining: Decimal | None
    total: Decimal | None
    renews_at: datetime | None
    plan: str | None
    status: str | None = None
    can_top_up: bool | None = None
    can_upgrade_plan: bool | None = None

    @property
    def plan_name(self) -> str | None:
        return PLANS.get(self.plan, self.plan) if self.plan else None

    def as_json(self) -> dict[str, Any]:
        return {
            "remaining": _number(self.remaining),
            "total": _number(self.total),
            "renews_at": self.renews_at.isoformat() if self.renews_at else None,
            "plan": self.plan,
            "status": self.status,
            "can_top_up": self.can_top_up,
            "can_upgrade_plan": self.can_upgrade_plan,
        }


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def parse_credits(body: bytes) -> Credits:
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, Mapping):
        raise StreamDecodeError("Raycast's credits reply is not a JSON object.")
    subscription = payload.get("funding_subscription")
    if not isinstance(subscription, Mapping):
        subscription = {}
    tier = subscription.get("tier")
    status = subscription.get("status")
    return Credits(
        remaining=_amount(payload.get("remaining_balance_credits")),
        total=_amount(payload.get("total_balance_credits")),
        renews_at=_moment(payload.get("next_credits_at")),
        plan=tier if isinstance(tier, str) and tier else None,
        status=status if isinstance(status, str) and status else None,
        can_top_up=_flag(payload.get("can_top_up")),
        can_upgrade_plan=_flag(payload.get("can_upgrade_plan")),
    )


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def quota_error(message: str, kind: str | None) -> QuotaExceededError | None:
    """The typed error a stream error means when it is about the plan's allowance, else None:
    `credits_error`, or the free trial's limit whatever its type."""
    if kind != "credits_error" and not _FREE_TRIAL.search(message):
        return None
    wait = retry_after(message)
    if _FREE_TRIAL.search(message):
        limit = _LIMIT.search(message)
        reached = (
            f"Raycast's free trial limit of {limit.group(1)} requests per {limit.group(2).lower()}"
            if limit
            else "Raycast's free trial limit"
        )
        text = f"{reached} is reached"
        text += f"; try again in {_duration(wait)}" if wait is not None else ""
        text += ", or upgrade to Raycast Pro."
        return QuotaExceededError(text, retry_after=wait, type="free_trial_limit")
    text = f"Raycast AI credits are used up: {message}"
    return QuotaExceededError(text, retry_after=wait, type="credits_error")


def retry_after(message: str) -> float | None:
    """The wait a message names ("try again in 7 minutes"), in seconds."""
    match = _WAIT.search(message)
    if match is None:
        return None
    count, unit = match.group(1).lower(), match.group(2).lower()
    amount = 1.0 if count in {"a", "an", "one"} else float(count)
    return amount * _UNIT_SECONDS[unit]


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"
