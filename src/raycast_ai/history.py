"""The conversation log: a SQLite database (`logs.db` in the data folder) of conversations and
their exchanges, written so that an answer cut short by Ctrl-C, an error or a crash keeps what
arrived.

An exchange row is inserted before its request is sent, its response is saved at checkpoints
while it streams (`save`), and `finish` records usage and a finish reason or an error. A row
whose `finished` is empty is one whose writer stopped without saying why (killed, or still
running). The file is created 0600 in a 0700 folder before SQLite opens it; SQLite gives its
journal files the database file's mode.

Prompts and responses are indexed for full-text search (FTS5). A damaged file raises
`DamagedLogError` naming it; it is never replaced silently: `move_aside` keeps it as
`logs.db.corrupt-<time>`, and only `raycast-ai logs repair` calls it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from raycast_ai.config import private_dir
from raycast_ai.protocol.errors import InvalidRequestError

LOG_FILE = "logs.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    prompt TEXT NOT NULL,
    system TEXT,
    response TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    finish_reason TEXT,
    error TEXT,
    attachments TEXT
);
CREATE INDEX IF NOT EXISTS exchanges_by_conversation ON exchanges (conversation_id, id);
"""
# 2: `exchanges.attachments`, the JSON list of the files sent with the prompt (name, type, size).
_VERSION = 2
_MIGRATIONS = {2: "ALTER TABLE exchanges ADD COLUMN attachments TEXT;"}


def new_conversation_id() -> str:
    """An uppercase UUID, the form Raycast uses for `thread_id`."""
    return str(uuid.uuid4()).upper()


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# Full-text search over prompts and responses (SQLite FTS5), kept in step with `exchanges` by
# triggers. Added to any log that lacks it, whatever its version, and built from its rows.
_SEARCH = """
CREATE VIRTUAL TABLE IF NOT EXISTS exchanges_search USING fts5(
    prompt, response, content='exchanges', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS exchanges_search_insert AFTER INSERT ON exchanges BEGIN
    INSERT INTO exchanges_search (rowid, prompt, response)
    VALUES (new.id, new.prompt, new.response);
END;
CREATE TRIGGER IF NOT EXISTS exchanges_search_delete AFTER DELETE ON exchanges BEGIN
    INSERT INTO exchanges_search (exchanges_search, rowid, prompt, response)
    VALUES ('delete', old.id, old.prompt, old.response);
END;
CREATE TRIGGER IF NOT EXISTS exchanges_search_update AFTER UPDATE OF prompt, response
ON exchanges BEGIN
    INSERT INTO exchanges_search (exchanges_search, rowid, prompt, response)
    VALUES ('delete', old.id, old.prompt, old.response);
    INSERT INTO exchanges_search (rowid, prompt, response)
    VALUES (new.id, new.prompt, new.response);
END;
INSERT INTO exchanges_search (exchanges_search) VALUES ('rebuild');
"""
QUERY_HELP = (
    'SQLite FTS5 syntax: words match whole words in any order, "a phrase" in order, pre* a '
    "prefix; OR, NOT and parentheses combine them; prompt: or response: limits a word to one "
    "of them"
)


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    model: str
    created: str


@dataclass(frozen=True, slots=True)
class Exchange:
    id: int
    conversation_id: str
    prompt: str
    system: str | None
    response: str
    reasoning: str
    model: str
    started: str
    finished: str | None
    input_tokens: int | None
    output_tokens: int | None
    finish_reason: str | None
    error: str | None
    attachments: str | None = None

    @property
    def files(self) -> list[dict[str, Any]]:
        """The files sent with the prompt: `name`, `type` and `size` each (never their bytes)."""
        if not self.attachments:
            return []
        try:
            listed = json.loads(self.attachments)
        except ValueError:
            return []
        return [f for f in listed if isinstance(f, dict)] if isinstance(listed, list) else []

    @property
    def status(self) -> str:
        """ "complete", "error" (the error column says which) or "unfinished"."""
        if self.error:
            return "error"
        return "complete" if self.finished else "unfinished"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "attachments": self.files, "status": self.status}


class AmbiguousConversationError(LookupError):
    """A conversation id prefix that matches more than one conversation."""


class History:
    """One connection to the log; use it as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        create_private(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._prepare()
            self._add_search()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if is_damage(exc):
                raise damaged(path, exc) from None
            raise

    def _prepare(self) -> None:
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 5000")
        # WAL: `raycast-ai logs` can read while a chat elsewhere writes; NORMAL: commits without
        # an fsync each, which a checkpoint every fraction of a second needs.
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version < _VERSION:
            steps = (
                [_SCHEMA]
                if version == 0
                else [_MIGRATIONS[v] for v in range(version + 1, _VERSION + 1)]
            )
            self._db.executescript(
                f"BEGIN IMMEDIATE; {''.join(steps)} PRAGMA user_version = {_VERSION}; COMMIT;"
            )

    def _add_search(self) -> None:
        """The search index and its triggers, for a new log or one written before them."""
        found = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'exchanges_search'"
        if self._db.execute(found).fetchone() is None:
            self._db.executescript(f"BEGIN IMMEDIATE; {_SEARCH} COMMIT;")

    @classmethod
    def open(cls, home: Path) -> History:
        return cls(home / LOG_FILE)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # conversations

    def create(self, model: str, conversation_id: str | None = None) -> Conversation:
        conversation = Conversation(conversation_id or new_conversation_id(), model, now())
        self._db.execute(
            "INSERT OR IGNORE INTO conversations (id, model, created) VALUES (?, ?, ?)",
            (conversation.id, conversation.model, conversation.created),
        )
        return self.conversation(conversation.id) or conversation

    def conversation(self, id_or_prefix: str) -> Conversation | None:
        """The conversation with this id, or the only one whose id starts with it (any case)."""
        key = id_or_prefix.strip().upper()
        if not key:
            return None
        row = self._db.execute("SELECT * FROM conversations WHERE id = ?", (key,)).fetchone()
        if row is None:
            pattern = _like_prefix(key)
            rows = self._db.execute(
                "SELECT * FROM conversations WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (pattern,)
            ).fetchall()
            if len(rows) > 1:
                raise AmbiguousConversationError(
                    f"More than one conversation id starts with '{id_or_prefix}'; give more of it."
                )
            row = rows[0] if rows else None
        return None if row is None else Conversation(row["id"], row["model"], row["created"])

    def latest(self) -> Conversation | None:
        """The conversation of the most recent exchange, else the newest one."""
        row = (
            self._db.execute(
                "SELECT c.* FROM exchanges e JOIN conversations c ON c.id = e.conversation_id "
                "ORDER BY e.id DESC LIMIT 1"
            ).fetchone()
            or self._db.execute(
                "SELECT * FROM conversations ORDER BY created DESC LIMIT 1"
            ).fetchone()
        )
        return None if row is None else Conversation(row["id"], row["model"], row["created"])

    # exchanges

    def start(
        self,
        conversation_id: str,
        prompt: str,
        system: str | None,
        model: str,
        files: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """Records the prompt (and what `files` says of the attachments: name, type, size)
        before the request goes out; returns the exchange id."""
        listed = json.dumps([dict(f) for f in files], ensure_ascii=False) if files else None
        cursor = self._db.execute(
            "INSERT INTO exchanges (conversation_id, prompt, system, model, started, "
            "attachments) VALUES (?, ?, ?, ?, ?, ?)",
            (conversation_id, prompt, system, model, now(), listed),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def save(self, exchange_id: int, response: str, reasoning: str = "") -> None:
        """A checkpoint of an answer still streaming."""
        self._db.execute(
            "UPDATE exchanges SET response = ?, reasoning = ? WHERE id = ?",
            (response, reasoning, exchange_id),
        )

    def finish(
        self,
        exchange_id: int,
        response: str,
        reasoning: str = "",
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reason: str | None = None,
        error: str | None = None,
    ) -> None:
        self._db.execute(
            "UPDATE exchanges SET response = ?, reasoning = ?, finished = ?, input_tokens = ?, "
            "output_tokens = ?, finish_reason = ?, error = ? WHERE id = ?",
            (
                response,
                reasoning,
                now(),
                input_tokens,
                output_tokens,
                finish_reason,
                error,
                exchange_id,
            ),
        )

    def exchanges(self, conversation_id: str) -> list[Exchange]:
        rows = self._db.execute(
            "SELECT * FROM exchanges WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        ).fetchall()
        return [_exchange(row) for row in rows]

    def recent(
        self, limit: int | None = 3, *, conversation_id: str | None = None, query: str = ""
    ) -> list[Exchange]:
        """The last `limit` exchanges (None: all), oldest first; `query` is a full-text search
        of prompts and responses in SQLite FTS5's syntax (`QUERY_HELP`), any case and accent.
        A query FTS5 cannot parse raises InvalidRequestError."""
        where: list[str] = []
        params: list[object] = []
        if conversation_id:
            where.append("conversation_id = ?")
            params.append(conversation_id)
        if query:
            where.append(
                "id IN (SELECT rowid FROM exchanges_search WHERE exchanges_search MATCH ?)"
            )
            params.append(query)
        sql = "SELECT * FROM exchanges"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        try:
            rows = self._db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            # FTS5's parse errors are plain SQLITE_ERRORs; a busy log is not the query's fault.
            if query and getattr(exc, "sqlite_errorname", "SQLITE_ERROR") == "SQLITE_ERROR":
                raise InvalidRequestError(
                    f"Cannot search for {query!r} ({exc}). {QUERY_HELP}; quote anything else, "
                    """e.g. -q '"exit code: 2"'."""
                ) from None
            raise
        return [_exchange(row) for row in reversed(rows)]

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM exchanges").fetchone()[0])

    def messages(self, conversation_id: str) -> list[dict[str, str]]:
        """The conversation so far as chat messages, for a continuation.

        An exchange that produced no text at all (it failed before the first token) is left
        out whole, so users and assistants keep taking turns; a partial answer is kept.
        """
        return to_messages(self.exchanges(conversation_id))


def to_messages(exchanges: Sequence[Exchange]) -> list[dict[str, str]]:
    """The log's exchanges as chat messages; a file sent with a prompt is named on a line after
    it (the log keeps no bytes to send again)."""
    messages: list[dict[str, str]] = []
    for exchange in exchanges:
        if exchange.response:
            prompt = "\n".join([exchange.prompt, *map(file_line, exchange.files)])
            messages.append({"role": "user", "content": prompt})
            messages.append({"role": "assistant", "content": exchange.response})
    return messages


def file_text(file: Mapping[str, Any]) -> str:
    return f"{file.get('name')} ({file.get('type')}, {file.get('size')} bytes)"


def file_line(file: Mapping[str, Any]) -> str:
    return f"[attached: {file_text(file)}]"


def _exchange(row: sqlite3.Row) -> Exchange:
    return Exchange(**{key: row[key] for key in row.keys()})  # noqa: SIM118 (Row has no iter)


class DamagedLogError(InvalidRequestError):
    """The log file is not a SQLite database, or a damaged one; `.path` is the file."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


def damaged(path: Path, exc: sqlite3.Error) -> DamagedLogError:
    return DamagedLogError(
        f"The conversation log {path} is damaged ({exc}). 'raycast-ai logs repair' moves it "
        f"aside, kept as {path.name}.corrupt-<time> for recovery, and starts a new one.",
        path,
    )


def is_damage(exc: sqlite3.Error) -> bool:
    """SQLite's "not a database" and "malformed" errors, as opposed to a busy or locked log."""
    name = getattr(exc, "sqlite_errorname", "")
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    return type(exc) is sqlite3.DatabaseError


def move_aside(path: Path) -> Path:
    """Renames the log and its WAL files to `<name>.corrupt-<UTC time>`; returns the new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("-wal", "-shm", ""):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.rename(target.with_name(target.name + suffix))
    return target


def check(path: Path) -> str | None:
    """What is wrong with the log at `path` (SQLite's integrity check), or None."""
    try:
        with History(path) as history:
            rows = history._db.execute("PRAGMA quick_check").fetchall()
    except DamagedLogError as exc:
        return exc.message
    except sqlite3.DatabaseError as exc:
        return str(exc)
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    return "; ".join(problems[:3]) or None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"


def create_private(path: Path) -> None:
    """Creates `path` (if missing) readable by its owner only, in a 0700 folder."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    os.close(fd)
