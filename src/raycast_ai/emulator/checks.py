"""The emulator's gatekeeping: the Bearer token and the v2 request signature."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from raycast_ai.protocol.signing import encode_json, is_device_id, verify_v2

from .config import EmulatorConfig
from .delivery import Plan, json_plan


def error_body(message: str, kind: str | None = None) -> bytes:
    error = {"message": message} if kind is None else {"message": message, "type": kind}
    return encode_json({"error": error})


def error_plan(status: int, message: str, outcome: str) -> Plan:
    return json_plan(status, error_body(message), outcome)


def token_refusal(headers: Mapping[str, str], config: EmulatorConfig) -> Plan | None:
    """An HTTP 401 when the Bearer token is missing or wrong, else None: the emulator's own
    token, or a live `rca_` token from its sign-in (an expired one is refused)."""
    if not config.require_token:
        return None
    value = headers.get("authorization", "").strip()
    if not value:
        message = "Missing Authorization header; send 'Authorization: Bearer <token>'."
        return error_plan(401, message, "rejected:token")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        return error_plan(401, "Invalid access token.", "rejected:token")
    accepted = False
    for known in (config.token, *config.tokens):
        accepted |= hmac.compare_digest(token.encode(), known.encode())
    if accepted:
        return None
    refused = config.oauth.check(token)
    return None if refused is None else error_plan(401, refused, "rejected:token")


def bearer(headers: Mapping[str, str]) -> str:
    """The token of the request's `Authorization: Bearer` header, or ""."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def signature_ok(
    headers: Mapping[str, str], body: bytes, config: EmulatorConfig, now: float | None = None
) -> bool:
    """X-Raycast-Signature-v2 checked over the exact body bytes received."""
    timestamp = headers.get("x-raycast-timestamp", "")
    device_id = headers.get("x-raycast-deviceid", "")
    signature = headers.get("x-raycast-signature-v2", "")
    if not timestamp or not signature.isascii() or not is_device_id(device_id):
        return False
    if config.max_skew_seconds is not None:
        sent = parse_timestamp(timestamp)
        current = time.time() if now is None else now
        if sent is None or abs(current - sent) > config.max_skew_seconds:
            return False
    return verify_v2(config.secret, timestamp, device_id, body, signature)


def parse_timestamp(value: str) -> float | None:
    """Unix seconds as the app sends them, or ISO-8601 as some relays do."""
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
