"""`Attachment`: a file to send with a question, from bytes, a path or a data URL.

Its checksums (SHA-256 to upload the same content once, MD5 for Raycast's blob record) are made
when it is created; a file on disk is read in chunks for them and again, in chunks, when it is
uploaded, never held whole in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raycast_ai.protocol.errors import AttachmentError
from raycast_ai.protocol.files import (
    ATTACHMENT_PART,
    IMAGE_TYPES,
    MAX_ATTACHMENT_BYTES,
    Blob,
    default_filename,
    md5_checksum,
    parse_data_url,
    sniff_content_type,
    too_large,
)

CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str  # hex: the same content is uploaded once per process (within a while)
    md5: str  # base64 of the MD5 digest: Raycast's checksum and the PUT's Content-MD5
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        limit: int = MAX_ATTACHMENT_BYTES,
    ) -> Attachment:
        if len(data) > limit:
            raise AttachmentError(too_large(len(data), limit))
        kind = content_type or sniff_content_type(data[:4096], filename)
        return cls(
            filename or default_filename(kind),
            kind,
            len(data),
            hashlib.sha256(data).hexdigest(),
            md5_checksum(hashlib.md5(data, usedforsecurity=False).digest()),
            data=bytes(data),
        )

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        limit: int = MAX_ATTACHMENT_BYTES,
    ) -> Attachment:
        """The file at `path`, hashed in chunks; an unreadable or oversize file raises
        `AttachmentError` naming it."""
        path = Path(path)
        sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        size, head = 0, b""
        try:
            with path.open("rb") as file:
                while chunk := file.read(CHUNK):
                    head = head or chunk[:4096]
                    size += len(chunk)
                    if size > limit:
                        raise AttachmentError(f"{path}: {too_large(path.stat().st_size, limit)}")
                    sha.update(chunk)
                    md5.update(chunk)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise AttachmentError(f"Cannot read the attachment {path}: {reason}.") from None
        name = filename or path.name
        return cls(
            name,
            content_type or sniff_content_type(head, name),
            size,
            sha.hexdigest(),
            md5_checksum(md5.digest()),
            path=path,
        )

    @classmethod
    def from_data_url(
        cls, url: str, *, filename: str | None = None, limit: int = MAX_ATTACHMENT_BYTES
    ) -> Attachment:
        content_type, data = parse_data_url(url, limit)
        return cls.from_bytes(data, filename=filename, content_type=content_type, limit=limit)

    @classmethod
    def of(cls, value: Attachment | bytes | str | Path) -> Attachment:
        """An attachment from what a caller has: one already made, bytes, a data URL or a
        path."""
        if isinstance(value, Attachment):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return cls.from_bytes(bytes(value))
        if isinstance(value, str) and value.startswith("data:"):
            return cls.from_data_url(value)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise AttachmentError(
                f"Attachments are not fetched from URLs ({value[:80]}); download the file and "
                "give its path, its bytes or a data URL."
            )
        if isinstance(value, str | Path):
            return cls.from_path(value)
        raise AttachmentError(
            f"Cannot attach a {type(value).__name__}; give bytes, a path or a data URL."
        )

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES

    @property
    def blob(self) -> Blob:
        return Blob(self.filename, self.size, self.md5, self.content_type)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The bytes, a chunk at a time (read from disk for a file)."""
        if self.data is not None:
            for start in range(0, len(self.data), size):
                yield self.data[start : start + size]
            return
        assert self.path is not None
        try:
            with self.path.open("rb") as file:
                while chunk := file.read(size):
                    yield chunk
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise AttachmentError(f"Cannot read the attachment {self.path}: {reason}.") from None

    def part(self) -> dict[str, Any]:
        """This attachment as a content part of a neutral (OpenAI-style) user message."""
        return {"type": ATTACHMENT_PART, ATTACHMENT_PART: self}


def attachments_in(messages: Any) -> list[Attachment]:
    """Every attachment in the content parts of `messages`, in order."""
    found: list[Attachment] = []
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list | tuple):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == ATTACHMENT_PART:
                    found.append(part[ATTACHMENT_PART])
    return found


def with_attachments(
    messages: Sequence[Mapping[str, Any]], values: Iterable[Attachment | bytes | str | Path]
) -> list[Mapping[str, Any]]:
    """`messages` with `values` (anything `Attachment.of` takes) appended to the content of
    the last user message; a copy, the caller's messages are left as they are."""
    parts = [Attachment.of(value).part() for value in values]
    found = list(messages)
    if not parts:
        return found
    for index in range(len(found) - 1, -1, -1):
        message = found[index]
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if content is None or isinstance(content, str):
                text = [{"type": "text", "text": content}] if content else []
                found[index] = {**message, "content": [*text, *parts]}
            elif isinstance(content, list | tuple):
                found[index] = {**message, "content": [*content, *parts]}
            else:
                raise AttachmentError("The last user message's content is neither text nor parts.")
            return found
    raise AttachmentError("attachments= needs a user message to attach the files to.")
