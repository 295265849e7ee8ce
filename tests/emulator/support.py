"""Helpers for the emulator tests: signed requests built by protocol/, and SSE bodies split up."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.catalog import models_payload
from raycast_ai.protocol.catalog import Catalog
from raycast_ai.protocol.request import ChatOptions, ChatRequest, build_chat_request, chat_headers
from raycast_ai.protocol.signing import signature_v2

CATALOG = Catalog.parse(models_payload())
DEVICE_ID = "0123456789abcdef" * 4
DEFAULT_MODEL = "openai-gpt-4o-mini"
NO_OPTIONS = ChatOptions()


def signed(
    prompt_or_messages: str | Sequence[Mapping[str, Any]],
    model: str = DEFAULT_MODEL,
    *,
    options: ChatOptions = NO_OPTIONS,
    token: str | None = EMULATOR_TOKEN,
    secret: str | None = EMULATOR_SECRET,
    device_id: str = DEVICE_ID,
    timestamp: int | None = None,
) -> tuple[ChatRequest, dict[str, str]]:
    """A chat request exactly as the client sends it, and its headers."""
    messages = (
        [{"role": "user", "content": prompt_or_messages}]
        if isinstance(prompt_or_messages, str)
        else prompt_or_messages
    )
    request = build_chat_request(messages, CATALOG.resolve(model), options)
    headers = chat_headers(
        request.body,
        token=token,
        secret=secret,
        device_id=device_id,
        timestamp=int(time.time()) if timestamp is None else timestamp,
    )
    return request, headers


def events(body: bytes) -> list[bytes]:
    """The `data:` payloads of a body that must consist of `data: ...\\n\\n` events only."""
    assert body.endswith(b"\n\n"), body[-80:]
    out = []
    for raw in body[:-2].split(b"\n\n"):
        assert raw.startswith(b"data: "), raw[:80]
        assert b"\n" not in raw, raw[:80]
        out.append(raw[len(b"data: ") :])
    return out


def chunks(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(data) for data in events(body)]


def texts(parsed: Sequence[Mapping[str, Any]]) -> str:
    return "".join(c["text"] for c in parsed if set(c) == {"text"})


def resigned(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The headers with the v2 signature recomputed for another body."""
    signature = signature_v2(
        EMULATOR_SECRET, headers["X-Raycast-Timestamp"], headers["X-Raycast-DeviceId"], body
    )
    return {**headers, "X-Raycast-Signature-v2": signature}
