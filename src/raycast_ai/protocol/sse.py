"""Incremental Server-Sent-Events decoder (HTML living standard, section 9.2): bytes in, events out.

Lines are split on bytes, never on decoded text: CR and LF cannot occur inside a UTF-8 sequence,
so a complete line always decodes whole, however the reads were cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn, TypeAlias

from .errors import StreamDecodeError

DEFAULT_MAX_EVENT_SIZE = 1 << 20
_BOM = b"\xef\xbb\xbf"
_Fields: TypeAlias = tuple[str, str, str, int | None]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events each read completes.

    An event is too large (`StreamDecodeError`) when its data lines together, or any one line,
    exceed `max_event_size` bytes as sent (`data: ` included), however the reads were cut.
    """

    __slots__ = (
        "_at_start",
        "_buffer",
        "_data",
        "_error",
        "_event",
        "_last_id",
        "_max_event_size",
        "_pending_cr",
        "_retry",
        "_size",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._max_event_size = max_event_size
        self._buffer = b""
        self._at_start = True
        self._pending_cr = False
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None
        self._error: StreamDecodeError | None = None

    @property
    def max_event_size(self) -> int:
        return self._max_event_size

    @property
    def idle(self) -> bool:
        """Between events with nothing held: what follows starts a new event on a new line.

        (An `id:` or `retry:` line may have been read; its values are kept as usual.)
        """
        return not (
            self._at_start
            or self._pending_cr
            or self._buffer
            or self._data
            or self._event
            or self._error is not None
        )

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        return [ServerSentEvent(*fields) for fields in self.feed_tuples(chunk)]

    def feed_tuples(self, chunk: bytes) -> list[_Fields]:
        """Like `feed`, as plain (data, event, id, retry) tuples: the cheap form for a hot loop.

        Events completed before an oversized one are returned; the error comes on the next call.
        """
        if self._error is not None:
            raise self._error
        pairs: list[_Fields] = []
        try:
            self._decode(chunk, pairs)
        except StreamDecodeError as error:
            if not pairs:
                raise
            self._error = error
        return pairs

    def end(self) -> None:
        """At EOF: an unfinished event is dropped, as the standard says; a held error is raised."""
        if self._error is not None:
            raise self._error

    def _decode(self, chunk: bytes, pairs: list[_Fields]) -> None:
        if self._at_start:
            chunk = self._buffer + chunk
            self._buffer = b""
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._buffer = chunk
                return
            self._at_start = False
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if self._pending_cr and chunk:
            self._pending_cr = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._pending_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._buffer or self._data or self._event:
            # Finish the event in progress line by line; a blank line leaves a clean state.
            cut = chunk.find(b"\n\n")
            if cut < 0:
                self._lines(chunk, pairs)
                return
            self._lines(chunk[: cut + 2], pairs)
            chunk = chunk[cut + 2 :]
        # Between events the common case, one "data: " line per event, skips the line loop.
        # Splitting on blank lines only groups lines: anything unusual takes the full path.
        parts = chunk.split(b"\n\n")
        tail = parts.pop()
        limit = self._max_event_size
        append = pairs.append
        last_id, retry = self._last_id, self._retry
        for part in parts:
            if part[:6] == b"data: " and b"\n" not in part and len(part) <= limit:
                append((part[6:].decode("utf-8", "replace"), "message", last_id, retry))
            elif part:
                self._lines(part + b"\n\n", pairs)
                last_id, retry = self._last_id, self._retry  # an `id:` or `retry:` line
            else:
                self._event = ""
        if tail:
            self._lines(tail, pairs)

    def _lines(self, chunk: bytes, pairs: list[_Fields]) -> None:
        if b"\n" not in chunk:
            self._buffer += chunk
            self._check_size()
            return
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            # Checked per line too, so whether an event is too large never depends on the reads.
            if self._size + len(line) > self._max_event_size:
                self._too_large()
            if not line:
                if self._data:
                    pairs.append(self._dispatch())
                else:
                    self._event = ""
            elif line.startswith(b"data:"):
                value = line[6:] if line[5:6] == b" " else line[5:]
                self._data.append(value.decode("utf-8", "replace"))
                self._size += len(line)
            elif line[0] != 0x3A:  # ":" starts a comment
                self._field(line.decode("utf-8", "replace"))
        self._check_size()

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._size += len(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> _Fields:
        data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
        pair = (data, self._event or "message", self._last_id, self._retry)
        self._data = []
        self._size = 0
        self._event = ""
        return pair

    def _check_size(self) -> None:
        if self._size + len(self._buffer) > self._max_event_size:
            self._too_large()

    def _too_large(self) -> NoReturn:
        raise StreamDecodeError(
            f"A server-sent event exceeded {self._max_event_size} bytes; "
            "the stream is not a Raycast stream or it is corrupt."
        )
