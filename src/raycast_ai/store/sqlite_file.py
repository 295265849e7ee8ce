"""One SQLite file in the data folder, private to the user, behind one connection: what the
embedded response store and usage ledger both stand on."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

from raycast_ai.config import private_dir

from .base import StoreError


class PrivateDatabase:
    """Created 0600 in a 0700 folder (it holds prompts, answers, usage), opened on first use.

    One connection serves one call at a time: opening one per call would cost a checkpoint of
    the write-ahead log (an fsync) at each close. With the write-ahead log, a commit is not an
    fsync: a crash may lose the last writes, never the file. A failure is a `StoreError` naming
    `what` and the file.
    """

    def __init__(self, path: Path, schema: Sequence[str], what: str) -> None:
        self.path = path
        self._schema = schema
        self._what = what
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection, in one transaction (rolled back on an error)."""
        try:
            with self._lock:
                if self._connection is None:
                    self._connection = self._open()
                with self._connection as connection:
                    yield connection
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self._what} {self.path} failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _open(self) -> sqlite3.Connection:
        private_dir(self.path.parent)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        connection = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            for statement in self._schema:
                connection.execute(statement)
            connection.commit()
        except BaseException:
            connection.close()
            raise
        weakref.finalize(self, connection.close)
        return connection
