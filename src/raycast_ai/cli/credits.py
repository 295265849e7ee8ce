"""`raycast-ai credits`: what is left of the month's AI credits, the plan and the renewal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import click

from . import runtime


@click.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of a sentence.")
def credits(as_json: bool) -> None:
    """Show what is left of the month's AI credits.

    The remaining and total credits, the plan and when the next credits arrive.

    \b
        raycast-ai credits           425.66 of 500 credits left (85%), Pro plan, ...
        raycast-ai credits --json    the same as JSON (amounts as numbers)
    """
    with runtime.make_client() as client:
        found = client.credits()
    if as_json:
        click.echo(json.dumps(found.as_json(), ensure_ascii=False, indent=2))
        return
    parts = [_amounts(found.remaining, found.total)]
    if found.plan_name:
        parts.append(f"{found.plan_name} plan")
    if found.renews_at is not None:
        parts.append(f"renews {_day(found.renews_at)}")
    click.echo(", ".join(parts) + ".")
    if found.remaining is not None and found.remaining <= 0:
        hint = "top up in Raycast" if found.can_top_up else "wait for the renewal"
        runtime.err(f"No credits left: {hint}, or pick a cheaper model (-m).")


def _amounts(remaining: Decimal | None, total: Decimal | None) -> str:
    if remaining is None:
        return "Credits left: unknown"
    text = f"{_fmt(remaining)} credits left"
    if total is not None and total > 0:
        share = round(remaining / total * 100)
        text = f"{_fmt(remaining)} of {_fmt(total)} credits left ({share}%)"
    return text


def _fmt(amount: Decimal) -> str:
    """Two decimals at most, thousands separated: 2425.664 -> 2,425.66, 500 -> 500."""
    rounded = amount.quantize(Decimal("0.01"))
    text = f"{rounded:,.2f}"
    return text.removesuffix(".00")


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
