"""Raycast's request signature (X-Raycast-Signature-v2) and device ids.

v2 = hex HMAC-SHA256(secret, rot13_5(f"{timestamp}.{device_id}.{sha256_hex(body)}")), computed over
the exact body bytes that go on the wire. GET requests are signed as if the body were ``{}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string

GET_BODY = b"{}"

_ROT = str.maketrans(
    string.ascii_lowercase + string.ascii_uppercase + string.digits,
    string.ascii_lowercase[13:]
    + string.ascii_lowercase[:13]
    + string.ascii_uppercase[13:]
    + string.ascii_uppercase[:13]
    + string.digits[5:]
    + string.digits[:5],
)


def rot13_5(text: str) -> str:
    """Rotate ASCII letters by 13 and digits by 5; everything else stays."""
    return text.translate(_ROT)


def signature_v2(secret: str, timestamp: str, device_id: str, body: bytes) -> str:
    body_hash = hashlib.sha256(body).hexdigest()
    message = rot13_5(f"{timestamp}.{device_id}.{body_hash}")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_v2(secret: str, timestamp: str, device_id: str, body: bytes, signature: str) -> bool:
    expected = signature_v2(secret, timestamp, device_id, body)
    # Bytes, because compare_digest raises TypeError on a non-ASCII str (a garbled header).
    given = signature.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given)


def new_device_id() -> str:
    """A random id in the real one's shape (64 lowercase hex characters)."""
    return secrets.token_hex(32)


def is_device_id(value: str) -> bool:
    return len(value) == 64 and all(c in string.hexdigits.lower()[:16] for c in value)


def signed_headers(
    body: bytes, *, secret: str | None, device_id: str, timestamp: int
) -> dict[str, str]:
    """The three signing headers; without a secret only the device id and time are sent."""
    ts = str(timestamp)
    headers = {"X-Raycast-Timestamp": ts, "X-Raycast-DeviceId": device_id}
    if secret:
        headers["X-Raycast-Signature-v2"] = signature_v2(secret, ts, device_id, body)
    return headers


def encode_json(value: object) -> bytes:
    """Compact, key-sorted UTF-8 JSON, as the app sends it; the signature covers these bytes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
