"""Where the gateway keeps what outlives a request: stored responses, rate limits, usage and
account cooldowns, behind small interfaces (`base`), bundled by `open_shared` into one `Shared`:
SQLite in the data folder and memory for one process, or one Redis for several replicas."""

from __future__ import annotations

from .base import (
    Cooldowns,
    Decision,
    RateLimit,
    RateLimiter,
    ResponseStore,
    StoredResponse,
    StoreError,
    StoreUnavailable,
    UsageLedger,
    UsageRecord,
)
from .shared import Shared, open_shared
from .sqlite import SQLiteResponseStore

__all__ = [
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
]
