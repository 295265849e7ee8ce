"""Attachments, sans I/O: the body of `POST /api/v1/ai/files`, what its reply means, the
`content.attachments` entries of a user message, data URLs and content types.

The flow (reference 9.1): the client posts the file's metadata (signed JSON, no bytes), Raycast
answers with a blob record whose `direct_upload` names a URL and the exact headers to `PUT` the
raw bytes with (and no Raycast credentials), and the chat's user message refers to the blob's
`id` as `{"id": ..., "type": "file"}`.

In the neutral messages every layer passes around, an attachment is a content part
`{"type": "attachment", "attachment": <raycast_ai.Attachment>}` until the client has uploaded
it, and `{"type": "raycast_file", "id": ...}` after (see `uploaded_part`).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import AttachmentError, UploadError
from .signing import encode_json

FILES_PATH = "/api/v1/ai/files"
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ATTACHMENT_PART = "attachment"
UPLOADED_PART = "raycast_file"

# The types a model with vision reads as images.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


@dataclass(frozen=True, slots=True)
class Blob:
    """What the metadata request says about a file."""

    filename: str
    byte_size: int
    checksum: str  # base64 of the MD5 digest of the bytes (ActiveStorage's checksum)
    content_type: str


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Where and how to `PUT` the bytes, and the id the chat message refers to."""

    id: str
    url: str
    headers: dict[str, str]


def upload_body(chat_id: str, blob: Blob) -> bytes:
    return encode_json(
        {
            "chat_id": chat_id,
            "blob": {
                "filename": blob.filename,
                "byte_size": blob.byte_size,
                "checksum": blob.checksum,
                "content_type": blob.content_type,
            },
        }
    )


def upload_target(body: bytes, filename: str) -> UploadTarget:
    """The blob record of a 2xx files reply; anything else raises `UploadError`."""
    try:
        record = json.loads(body)
    except ValueError:
        raise UploadError(_failed(filename, "Raycast's reply is not JSON")) from None
    if not isinstance(record, Mapping):
        raise UploadError(_failed(filename, "Raycast's reply is not a JSON object"))
    direct = record.get("direct_upload")
    blob_id = record.get("id")
    if not isinstance(direct, Mapping) or blob_id in (None, "") or isinstance(blob_id, bool):
        raise UploadError(_failed(filename, "Raycast's reply has no upload address"))
    url, headers = direct.get("url"), direct.get("headers") or {}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UploadError(_failed(filename, "Raycast's reply has no upload address"))
    if not isinstance(headers, Mapping):
        raise UploadError(_failed(filename, "Raycast's upload headers are not an object"))
    return UploadTarget(str(blob_id), url, {str(k): str(v) for k, v in headers.items()})


def upload_failed(filename: str, status: int, body: bytes = b"") -> UploadError:
    """The error for an upload (`PUT`) the storage refused."""
    reason = f"the storage answered HTTP {status}"
    text = body[:200].decode("utf-8", "replace").strip()
    return UploadError(_failed(filename, reason + (f": {text}" if text else "")), status_code=502)


def _failed(filename: str, reason: str) -> str:
    return (
        f"Uploading the attachment '{filename}' to Raycast failed ({reason}), so the question "
        "was not sent. Retry; if it keeps failing, send the question without the file."
    )


def attachment_entries(ids: list[str]) -> list[dict[str, str]]:
    return [{"id": file_id, "type": "file"} for file_id in ids]


def uploaded_part(file_id: str) -> dict[str, str]:
    return {"type": UPLOADED_PART, "id": file_id}


def md5_checksum(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def sniff_content_type(head: bytes, filename: str | None = None) -> str:
    """The content type from the first bytes, else from the name, else text or binary."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if filename:
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        if guessed:
            return guessed
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of `head` is still text.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain"


def default_filename(content_type: str) -> str:
    extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return "attachment" + (".jpg" if extension == ".jpe" else extension)


def parse_data_url(url: str, limit: int = MAX_ATTACHMENT_BYTES) -> tuple[str, bytes]:
    """The content type and bytes of a `data:` URL (RFC 2397; base64 or percent-encoded);
    a malformed or oversize one raises `AttachmentError` saying so."""
    if not url.startswith("data:") or "," not in url:
        raise AttachmentError("An attachment URL must be a data URL (data:<type>;base64,<data>).")
    header, payload = url[5:].split(",", 1)
    params = header.split(";")
    content_type = params[0].strip().lower() or "text/plain"
    if not _MIME.match(content_type):
        raise AttachmentError(f"The data URL's content type {content_type[:50]!r} is not valid.")
    # Four base64 characters per three bytes: refuse before decoding what is too large.
    if len(payload) * 3 // 4 > limit + 3:
        raise AttachmentError(too_large(len(payload) * 3 // 4, limit))
    if "base64" in (p.strip().lower() for p in params[1:]):
        try:
            data = base64.b64decode(payload.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise AttachmentError("The data URL's base64 data is not valid.") from None
    else:
        data = urllib.parse.unquote_to_bytes(payload)
    if len(data) > limit:
        raise AttachmentError(too_large(len(data), limit))
    return content_type, data


def too_large(size: int, limit: int = MAX_ATTACHMENT_BYTES) -> str:
    return (
        f"The attachment is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB. "
        "Send a smaller file."
    )
