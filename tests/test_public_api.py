"""Every `__all__` of the package, pinned in one table: a name added, removed or renamed in a
public module is a change to this table too.

Each list is in ruff's isort-style order (RUF022): SCREAMING_SNAKE_CASE constants, then
CamelCase classes, then everything else, each group in natural order.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import raycast_ai

PUBLIC: dict[str, list[str]] = {
    "raycast_ai": [
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "AsyncChatStream",
        "AsyncRaycastClient",
        "Attachment",
        "AttachmentError",
        "AuthenticationError",
        "Catalog",
        "ChatStream",
        "Citation",
        "Completion",
        "Credits",
        "Event",
        "Finish",
        "ImageLink",
        "IncompleteStreamError",
        "InvalidRequestError",
        "MissingAuthError",
        "ModelEntry",
        "ModelNotFoundError",
        "Notice",
        "PermissionDeniedError",
        "QuotaExceededError",
        "RateLimitError",
        "Raycast",
        "RaycastClient",
        "RaycastError",
        "ReasoningDelta",
        "StreamDecodeError",
        "StructuredOutputError",
        "TextDelta",
        "Timeout",
        "ToolCall",
        "ToolCallDelta",
        "UploadError",
        "UpstreamError",
        "Usage",
        "__version__",
    ],
    "raycast_ai.client": [
        "DEFAULT_MODELS_TTL",
        "MODELS_CACHE_FILE",
        "UPLOAD_TTL",
        "AsyncChatStream",
        "AsyncRaycastClient",
        "ChatOptions",
        "ChatStream",
        "RaycastClient",
        "Timeout",
        "TimeoutLike",
        "UploadCache",
    ],
    "raycast_ai.emulator.app": [
        "CREDITS_PATH",
        "ME_PATH",
        "EmulatorConfig",
        "create_app",
    ],
    "raycast_ai.errors": [
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "AttachmentError",
        "AuthenticationError",
        "IncompleteStreamError",
        "InvalidRequestError",
        "MissingAuthError",
        "ModelNotFoundError",
        "PermissionDeniedError",
        "QuotaExceededError",
        "RateLimitError",
        "RaycastError",
        "StreamDecodeError",
        "StructuredOutputError",
        "UploadError",
        "UpstreamError",
    ],
    "raycast_ai.protocol.tokens": [
        "REPLY_PRIMING_TOKENS",
        "TOKENS_PER_MESSAGE",
        "TOKENS_PER_NAME",
        "estimate_message_tokens",
        "estimate_tokens",
    ],
    "raycast_ai.server": [
        "Account",
        "GatewaySettings",
        "accounts_path",
        "check_bind",
        "check_pins",
        "create_app",
        "free_port",
        "listen",
        "load_accounts",
        "serve",
        "tune_gc",
    ],
    "raycast_ai.store": [
        "Cooldowns",
        "Decision",
        "RateLimit",
        "RateLimiter",
        "ResponseStore",
        "SQLiteResponseStore",
        "Shared",
        "StoreError",
        "StoreUnavailable",
        "StoredResponse",
        "UsageLedger",
        "UsageRecord",
        "open_shared",
    ],
    "raycast_ai.transport": [
        "KEEPALIVE_EXPIRY",
        "URL",
        "AsyncHttpxTransport",
        "AsyncMockTransport",
        "AsyncResponse",
        "AsyncTransport",
        "BodyStream",
        "Http1Transport",
        "HttpxTransport",
        "MockResponse",
        "MockTransport",
        "Request",
        "Response",
        "StreamedResponse",
        "Timeout",
        "Transport",
        "ssl_context",
    ],
    "raycast_ai.typing": [
        "AsyncResult",
        "CreateResult",
        "Message",
        "Messages",
    ],
}


def isort_style(name: str) -> tuple[int, list[str | int]]:
    if len(name) > 1 and name.upper() == name and not name.startswith("_"):
        group = 0  # SCREAMING_SNAKE_CASE
    elif name[:1].isupper():
        group = 1  # CamelCase
    else:
        group = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def modules_with_all() -> set[str]:
    root = Path(raycast_ai.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        if re.search(r"^__all__\b", path.read_text(encoding="utf-8"), re.MULTILINE):
            parts = path.relative_to(root.parent).with_suffix("").parts
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_every_module_with_all_is_in_the_table() -> None:
    assert modules_with_all() == set(PUBLIC)


@pytest.mark.parametrize(("module", "names"), sorted(PUBLIC.items()))
def test_all_is_the_tables_sorted_list_of_importable_names(module: str, names: list[str]) -> None:
    assert names == sorted(names, key=isort_style)
    imported = importlib.import_module(module)
    assert imported.__all__ == names
    missing = [name for name in names if not hasattr(imported, name)]
    assert not missing
