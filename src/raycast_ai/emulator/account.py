"""The account endpoints' payloads: an anonymised /api/v1/me profile and /api/v1/ai/credits.

Credits profiles: `strings` (CodexBar's fixture, amounts as strings), `numbers` (fractional
numbers, a Pro+ plan) and
`exhausted` (nothing left).
"""

from __future__ import annotations

from typing import Any


def me_payload() -> dict[str, Any]:
    return {
        "name": "Emulator User",
        "handle": "emulator",
        "username": "emulator",
        "email": "user@example.com",
        "initials": "EU",
        "avatar": None,
        "avatar_placeholder_color": "#FF6363",
        "bio": None,
        "location": None,
        "website": None,
        "twitter_handle": None,
        "github_handle": None,
        "created_at": 1_700_000_000,
        "admin": False,
        "publishing_bot": False,
        "eligible_for_pro_features": True,
        "eligible_for_ai": True,
        "eligible_for_gpt4": True,
        "eligible_for_ai_citations": True,
        "eligible_for_cloud_sync": True,
        "has_active_subscription": True,
        "has_pro_features": True,
        "has_better_ai": True,
        "can_upgrade_to_pro": False,
        "stripe_subscription_status": "active",
        "stripe_subscription_interval": "month",
        "organizations": [],
    }


CREDITS_PROFILES = ("strings", "numbers", "exhausted")


def credits_payload(profile: str = "strings") -> dict[str, Any]:
    if profile not in CREDITS_PROFILES:
        raise ValueError(f"Unknown credits profile {profile!r}; use one of {CREDITS_PROFILES}.")
    payload = _credits_fixture()
    if profile == "numbers":
        payload["remaining_balance_credits"] = 2425.664
        payload["total_balance_credits"] = 3000
        payload["funding_subscription"]["tier"] = "pro_plus"
    elif profile == "exhausted":
        payload["remaining_balance_credits"] = "0.0"
        payload["can_top_up"] = True
    return payload


def _credits_fixture() -> dict[str, Any]:
    return {
        "remaining_balance_credits": "125",
        "total_balance_credits": "500",
        "next_credits_at": "2026-10-18T00:00:00.000Z",
        "can_top_up": True,
        "can_upgrade_plan": True,
        "funding_subscription": {
            "tier": "pro",
            "source": "personal",
            "provider": "stripe",
            "status": "active",
            "canceled": False,
        },
    }
