from __future__ import annotations

import hashlib
import hmac
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.signing import (
    GET_BODY,
    is_device_id,
    new_device_id,
    rot13_5,
    signature_v2,
    signed_headers,
    verify_v2,
)

# Section 2.2 of the protocol reference (synthetic secrets).
VECTORS = [
    (
        "1700000000",
        "test-device-id",
        '{"a":1,"b":"测试"}'.encode(),
        "abcXYZ09",
        "040de8db3bec88c71d38f28f0174745aa8218603719c37ac7a6dbb7c24d21869",
    ),
    (
        "1780430483",
        "test-device-id",
        b"{}",
        "abcXYZ09",
        "8e76d1d6139baf5fa6729ca0fcfb31c0f3b67db178af85a0ca60d2c80f942ee1",
    ),
    (
        "2026-09-09T01:02:03.004Z",
        "device-abc123",
        b"hello",
        "own-secret",
        "1e0f12f198ba23e5f0c50319ca0b77e700beb9cceb226ddd923e5bb9c3082f4d",
    ),
]

DEVICE = "a" * 64


@pytest.mark.parametrize(("timestamp", "device_id", "body", "secret", "expected"), VECTORS)
def test_published_vectors(
    timestamp: str, device_id: str, body: bytes, secret: str, expected: str
) -> None:
    assert signature_v2(secret, timestamp, device_id, body) == expected


@pytest.mark.parametrize(("timestamp", "device_id", "body", "secret", "expected"), VECTORS)
def test_published_vectors_verify(
    timestamp: str, device_id: str, body: bytes, secret: str, expected: str
) -> None:
    assert verify_v2(secret, timestamp, device_id, body, expected)


def test_transform_check() -> None:
    assert rot13_5("abcXYZ09.-") == "nopKLM54.-"


def test_transform_rotates_every_letter_and_digit() -> None:
    assert rot13_5(string.ascii_lowercase) == "nopqrstuvwxyzabcdefghijklm"
    assert rot13_5(string.ascii_uppercase) == "NOPQRSTUVWXYZABCDEFGHIJKLM"
    assert rot13_5(string.digits) == "5678901234"


def test_transform_leaves_other_characters() -> None:
    text = ".-:_ /+=测试é\x00"
    assert rot13_5(text) == text


def test_transform_rotates_iso_timestamp_letters() -> None:
    assert rot13_5("2026-09-09T01:02:03.004Z") == "7571-54-54G56:57:58.559M"


@settings(max_examples=100)
@given(st.text())
def test_transform_is_its_own_inverse(text: str) -> None:
    assert rot13_5(rot13_5(text)) == text


def test_signature_is_hmac_over_the_transformed_message() -> None:
    body = b'{"x":1}'
    body_hash = hashlib.sha256(body).hexdigest()
    message = rot13_5(f"123.{DEVICE}.{body_hash}")
    expected = hmac.new(b"k", message.encode(), hashlib.sha256).hexdigest()
    assert signature_v2("k", "123", DEVICE, body) == expected


def test_signature_shape() -> None:
    signature = signature_v2("secret", "1", DEVICE, b"{}")
    assert len(signature) == 64
    assert set(signature) <= set("0123456789abcdef")


def test_signature_covers_the_exact_bytes() -> None:
    # Same JSON value, different bytes: a different signature.
    compact = signature_v2("s", "1", DEVICE, b'{"a":1}')
    spaced = signature_v2("s", "1", DEVICE, b'{"a": 1}')
    assert compact != spaced


def test_verify_accepts_uppercase_and_surrounding_whitespace() -> None:
    ts, device, body, secret, expected = VECTORS[1]
    assert verify_v2(secret, ts, device, body, expected.upper())
    assert verify_v2(secret, ts, device, body, f"  {expected}\n")


@pytest.mark.parametrize(
    "change",
    ["secret", "timestamp", "device", "body", "signature", "empty", "short"],
)
def test_verify_rejects_any_change(change: str) -> None:
    ts, device, body, secret, expected = VECTORS[0]
    signature = expected
    if change == "secret":
        secret = "abcXYZ08"
    elif change == "timestamp":
        ts = "1700000001"
    elif change == "device":
        device = "test-device-iD"
    elif change == "body":
        body = body + b" "
    elif change == "signature":
        signature = expected[:-1] + ("0" if expected[-1] != "0" else "1")
    elif change == "empty":
        signature = ""
    else:
        signature = expected[:32]
    assert not verify_v2(secret, ts, device, body, signature)


@pytest.mark.parametrize("signature", ["é" * 64, "∂" * 64, "\udcff" * 64, "ﬀ" * 32])
def test_verify_rejects_non_ascii_signature_without_crashing(signature: str) -> None:
    # A header value can carry any character; a bad one is a mismatch, never a crash.
    assert not verify_v2("s", "1", DEVICE, b"{}", signature)


@settings(max_examples=50)
@given(secret=st.text(min_size=1), ts=st.text(), device=st.text(), body=st.binary())
def test_sign_then_verify(secret: str, ts: str, device: str, body: bytes) -> None:
    signature = signature_v2(secret, ts, device, body)
    assert verify_v2(secret, ts, device, body, signature)
    assert not verify_v2(secret, ts, device, body + b"x", signature)


def test_get_body_is_empty_object() -> None:
    assert GET_BODY == b"{}"


def test_signed_headers_with_secret() -> None:
    headers = signed_headers(
        b"{}", secret="abcXYZ09", device_id="test-device-id", timestamp=1780430483
    )
    assert headers == {
        "X-Raycast-Timestamp": "1780430483",
        "X-Raycast-DeviceId": "test-device-id",
        "X-Raycast-Signature-v2": VECTORS[1][4],
    }


@pytest.mark.parametrize("secret", [None, ""])
def test_signed_headers_without_secret(secret: str | None) -> None:
    headers = signed_headers(b"{}", secret=secret, device_id=DEVICE, timestamp=12)
    assert headers == {"X-Raycast-Timestamp": "12", "X-Raycast-DeviceId": DEVICE}


def test_signed_headers_signature_verifies_against_the_body() -> None:
    body = '{"text":"héllo"}'.encode()
    headers = signed_headers(body, secret="s3", device_id=DEVICE, timestamp=1700000000)
    assert verify_v2(
        "s3",
        headers["X-Raycast-Timestamp"],
        headers["X-Raycast-DeviceId"],
        body,
        headers["X-Raycast-Signature-v2"],
    )


def test_new_device_id_shape() -> None:
    device_id = new_device_id()
    assert len(device_id) == 64
    assert set(device_id) <= set("0123456789abcdef")
    assert is_device_id(device_id)


def test_new_device_ids_differ() -> None:
    assert len({new_device_id() for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0" * 64, True),
        ("0123456789abcdef" * 4, True),
        ("11fa8ae7ed3b727400f2760a0aa91d0857e0dcd29f1ac8d476ac3e1e1aacf3a9", True),
        ("A" * 64, False),
        ("0" * 63, False),
        ("0" * 65, False),
        ("g" * 64, False),
        ("", False),
        ("test-device-id", False),
        ("0" * 62 + "٣٣", False),
    ],
)
def test_is_device_id(value: str, valid: bool) -> None:
    assert is_device_id(value) is valid
