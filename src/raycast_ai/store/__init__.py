"""Where the gateway keeps what outlives a request: stored responses, behind one interface
(`ResponseStore`), with SQLite in the data folder as the embedded default."""

from __future__ import annotations

from .base import ResponseStore, StoredResponse, StoreError
from .sqlite import SQLiteResponseStore

__all__ = ["ResponseStore", "SQLiteResponseStore", "StoreError", "StoredResponse"]
