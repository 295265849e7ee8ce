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
import copy
import json
import mimetypes
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .attempt import Failure, status_failure
from .catalog import Catalog, ModelEntry
from .errors import AttachmentError, RaycastError, UploadError
from .signing import encode_json

FILES_PATH = "/api/v1/ai/files"
_MB = 1024 * 1024
MAX_ATTACHMENT_BYTES = 20 * _MB
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


# Set by the transport from the body it sends, never taken from the reply.
_TRANSPORT_HEADERS = frozenset({"content-length", "host", "transfer-encoding"})


def put_headers(target: UploadTarget) -> dict[str, str]:
    """The headers of the `PUT`: exactly the reply's (no Raycast credentials), but for those
    the transport sets from the body itself."""
    return {k: v for k, v in target.headers.items() if k.lower() not in _TRANSPORT_HEADERS}


def files_failure(status: int, headers: Mapping[str, str], body: bytes, filename: str) -> Failure:
    """An error answer to the metadata request, mapped as chat's are (a 401 is still an
    `AuthenticationError`, a 429 is retried) but saying that the upload failed; `headers`
    with lower-case names."""
    failure = status_failure(status, headers, body)
    return Failure(about_upload(failure.error, filename), failure.status, failure.retry_after)


def put_failure(status: int, body: bytes, filename: str) -> Failure:
    """The storage refused the bytes: an `UploadError`, tried again only for a status that
    may pass the next time (408, 429, 5xx)."""
    return Failure(upload_failed(filename, status, body), status)


def about_upload(error: RaycastError, filename: str) -> RaycastError:
    """`error` (of the same type) saying that it happened while uploading `filename`."""
    if error.message.startswith("Uploading the attachment"):
        return error
    about = copy.copy(error)
    about.message = (
        f"Uploading the attachment '{filename}' to Raycast failed, so the question was not "
        f"sent. {error.message}"
    )
    about.args = (about.message,)
    return about


def vision_refusal(
    model: ModelEntry, catalog: Catalog, images: Sequence[str]
) -> AttachmentError | None:
    """The error for images sent to a model whose catalog entry has no vision, naming models
    that have it; None when there is nothing to refuse."""
    if not images or model.supports_vision:
        return None
    seeing = [e.id for e in catalog.visible() if e.supports_vision]
    names = ", ".join(f"'{n}'" for n in images[:3]) + (" ..." if len(images) > 3 else "")
    hint = (
        f"Choose a model with vision, e.g. {', '.join(seeing[:5])} ('raycast-ai models' lists them)"
        if seeing
        else "No model in Raycast's catalog reads images"
    )
    return AttachmentError(
        f"Model '{model.id}' cannot read images (its catalog entry has no vision), and {names} "
        f"{'is an image' if len(images) == 1 else 'are images'}. {hint}; or send the question "
        "without the image."
    )


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
        f"The attachment is {human_size(size)}; the limit is {human_size(limit)}. "
        "Send a smaller file."
    )


def human_size(size: int) -> str:
    """`size` bytes as people read it: 812 bytes, 48 KB, 1.5 MB, 20 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < _MB:
        return f"{round(size / 1024)} KB"
    return f"{size / _MB:.1f}".removesuffix(".0") + " MB"
