"""The account endpoints' payloads: an anonymised /api/v1/me profile and /api/v1/ai/credits."""

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


def credits_payload() -> dict[str, Any]:
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
