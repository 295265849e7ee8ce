"""Attachments: `POST /api/v1/ai/files` (the blob record and where to put the bytes) and the
storage's `PUT`, as reference 9.1 describes them, and the files a chat message refers to.

The metadata route is gated like chat (Bearer, then the v2 signature over the body) and answers
the ActiveStorage record; its `direct_upload.url` is this server's `STORAGE_PATH`, which, like a
presigned object-store URL, takes no Raycast credentials and refuses bytes whose length or MD5
differ from the record. A directive in the filename (`@fault:500`) or an `X-Emulator-Fault`
header, or `EmulatorConfig.files_fault`, makes the metadata route fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from raycast_ai.protocol.files import human_size
from raycast_ai.protocol.signing import encode_json

from .checks import error_plan, signature_ok, token_refusal
from .config import EmulatorConfig
from .delivery import Plan, json_plan
from .faults import DirectiveError, parse_directives
from .recorder import RecordedRequest

STORAGE_PATH = "/storage/ai_production/{key}"
SERVICE_NAME = "ai_production"
# A checksum is the base64 of a 16-byte MD5 digest: 22 characters and "==".
_CHECKSUM = re.compile(r"^[A-Za-z0-9+/]{22}==$")
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


@dataclass(slots=True)
class StoredFile:
    id: str
    key: str
    chat_id: str
    filename: str
    content_type: str
    byte_size: int
    checksum: str
    created_at: str
    uploaded: bool = False

    def describe(self) -> str:
        return f"{self.filename} ({self.content_type}, {human_size(self.byte_size)})"


class FileStore:
    """The blobs the emulator knows, by id and by upload key; thread-safe, the oldest dropped
    beyond `limit`."""

    def __init__(self, limit: int = 10_000) -> None:
        self._by_id: OrderedDict[str, StoredFile] = OrderedDict()
        self._by_key: dict[str, StoredFile] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, chat_id: str, blob: Mapping[str, Any]) -> StoredFile:
        stored = StoredFile(
            id=str(uuid.uuid4()),
            key=uuid.uuid4().hex,
            chat_id=chat_id,
            filename=str(blob["filename"]),
            content_type=str(blob["content_type"]),
            byte_size=int(blob["byte_size"]),
            checksum=str(blob["checksum"]),
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        with self._lock:
            self._by_id[stored.id] = stored
            self._by_key[stored.key] = stored
            while len(self._by_id) > self._limit:
                _, old = self._by_id.popitem(last=False)
                self._by_key.pop(old.key, None)
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._by_id.get(file_id)

    def by_key(self, key: str) -> StoredFile | None:
        with self._lock:
            return self._by_key.get(key)

    def mark_uploaded(self, stored: StoredFile) -> None:
        with self._lock:
            stored.uploaded = True

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)


def files_plan(record: RecordedRequest, config: EmulatorConfig, store: FileStore) -> Plan:
    """The metadata request: checked as chat is, then the blob record."""
    from .chat import status_fault_plan  # chat imports this module: import it once both exist

    refusal = token_refusal(record.headers, config)
    if refusal is not None:
        return refusal
    if config.require_signature and not signature_ok(record.headers, record.body, config):
        return error_plan(401, "Invalid request signature.", "rejected:signature")
    try:
        body = json.loads(record.body)
    except ValueError:
        return error_plan(400, "The request body is not valid JSON.", "rejected:json")
    problem = _metadata_problem(body)
    if problem is not None:
        return error_plan(422, problem, "rejected:body")
    blob = body["blob"]
    try:
        # The extension is no part of a directive: "shot @fault:500.png" asks for a 500.
        directives = parse_directives(blob["filename"].rsplit(".", 1)[0], record.headers)
    except DirectiveError as exc:
        return error_plan(400, str(exc), "rejected:directive")
    record.directives = directives
    fault = directives.fault or config.files_fault
    if fault is not None:
        outcome = f"fault:{fault}"
        if fault == "malformed":
            return json_plan(200, encode_json({"ok": True}), outcome)
        if fault in ("401", "403", "429", "500", "502", "503"):
            return status_fault_plan(fault, directives, outcome)
        return error_plan(
            400,
            f"The fault '{fault}' does not apply to file uploads; use malformed or an HTTP "
            "status (401, 403, 429, 500, 502, 503).",
            "rejected:directive",
        )
    stored = store.add(str(body["chat_id"]), blob)
    return json_plan(200, encode_json(blob_record(stored, _origin(record))))


def blob_record(stored: StoredFile, origin: str) -> dict[str, Any]:
    """The reply of reference 9.1: the ActiveStorage blob and its direct upload."""
    name = stored.filename
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return {
        "id": stored.id,
        "key": stored.key,
        "filename": name,
        "content_type": stored.content_type,
        "metadata": {},
        "service_name": SERVICE_NAME,
        "byte_size": stored.byte_size,
        "checksum": stored.checksum,
        "created_at": stored.created_at,
        "direct_upload": {
            "url": origin + STORAGE_PATH.format(key=stored.key) + "?X-Emulator-Expires=300",
            "headers": {
                "Content-Type": stored.content_type,
                "Content-MD5": stored.checksum,
                "Content-Disposition": (
                    f"inline; filename=\"{quoted}\"; filename*=UTF-8''" + _percent_encoded(name)
                ),
            },
        },
    }


def storage_plan(record: RecordedRequest, store: FileStore) -> Plan:
    """The PUT of the bytes: only what the record says, as an object store checks it."""
    key = record.path.rsplit("/", 1)[-1]
    stored = store.by_key(key)
    if stored is None:
        return _s3_error(404, "NoSuchUpload", "The upload key is unknown or has expired.")
    if record.headers.get("authorization"):
        return _s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; the URL is presigned, send no Authorization.",
        )
    length = record.headers.get("content-length", "")
    if length != str(stored.byte_size) or len(record.body) != stored.byte_size:
        return _s3_error(
            400,
            "IncompleteBody",
            f"Content-Length {length or 'missing'} (body {len(record.body)} bytes) differs "
            f"from the blob's byte_size {stored.byte_size}.",
        )
    if record.headers.get("content-type", "") != stored.content_type:
        return _s3_error(
            403, "SignatureDoesNotMatch", "Content-Type is not the one the URL was signed for."
        )
    sent = record.headers.get("content-md5", "")
    if sent != stored.checksum:
        return _s3_error(
            400, "InvalidDigest", "The Content-MD5 you specified differs from the blob's checksum."
        )
    actual = base64.b64encode(hashlib.md5(record.body, usedforsecurity=False).digest()).decode()
    if actual != stored.checksum:
        return _s3_error(
            400, "BadDigest", "The Content-MD5 you specified did not match what we received."
        )
    store.mark_uploaded(stored)
    etag = base64.b64decode(stored.checksum).hex()
    return Plan(200, ((b"etag", f'"{etag}"'.encode()), (b"content-length", b"0")), ())


def attachment_refusal(messages: Sequence[Mapping[str, Any]], store: FileStore) -> Plan | None:
    """HTTP 400 when a user message refers to a file that is unknown or not uploaded yet."""
    for message in messages:
        content = message.get("content")
        entries = content.get("attachments") if isinstance(content, Mapping) else None
        if entries is None:
            continue
        if not isinstance(entries, list):
            return error_plan(400, "content.attachments must be an array.", "rejected:body")
        for entry in entries:
            if not isinstance(entry, Mapping) or entry.get("type") != "file":
                return error_plan(
                    400,
                    'Each attachment must be {"id": ..., "type": "file"}.',
                    "rejected:attachment",
                )
            stored = store.get(str(entry.get("id")))
            if stored is None:
                return error_plan(
                    400,
                    f"Attachment {entry.get('id')!r} was not found; upload it through "
                    "/api/v1/ai/files first.",
                    "rejected:attachment",
                )
            if not stored.uploaded:
                return error_plan(
                    400,
                    f"Attachment {stored.id!r} ({stored.filename}) was never uploaded; PUT its "
                    "bytes to its direct_upload URL first.",
                    "rejected:attachment",
                )
    return None


def attached(message: Mapping[str, Any], store: FileStore) -> list[StoredFile]:
    """The files of one message, already checked by `attachment_refusal`."""
    content = message.get("content")
    entries = content.get("attachments") if isinstance(content, Mapping) else None
    found = [store.get(str(e.get("id"))) for e in entries or () if isinstance(e, Mapping)]
    return [f for f in found if f is not None]


def seen_sentence(files: Sequence[StoredFile]) -> str:
    """What the answer says about the attachments: "I see shot.png (image/png, 47 KB). "."""
    if not files:
        return ""
    names = [f.describe() for f in files]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"I see {listed}. "


def _metadata_problem(body: object) -> str | None:
    if not isinstance(body, Mapping):
        return "The body must be a JSON object with chat_id and blob."
    if not isinstance(body.get("chat_id"), str) or not body["chat_id"]:
        return "chat_id must be the chat's thread id."
    blob = body.get("blob")
    if not isinstance(blob, Mapping):
        return "blob must be an object with filename, byte_size, checksum and content_type."
    if not isinstance(blob.get("filename"), str) or not blob["filename"].strip():
        return "blob.filename must be a non-empty string."
    size = blob.get("byte_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "blob.byte_size must be the number of bytes."
    checksum = blob.get("checksum")
    if not isinstance(checksum, str) or not _CHECKSUM.match(checksum):
        return "blob.checksum must be the base64 of the MD5 digest (24 characters)."
    kind = blob.get("content_type")
    if not isinstance(kind, str) or not _MIME.match(kind):
        return "blob.content_type must be a MIME type."
    return None


def _origin(record: RecordedRequest) -> str:
    return f"http://{record.headers.get('host', '127.0.0.1')}"


def _percent_encoded(name: str) -> str:
    return quote(name, safe="")


def _s3_error(status: int, code: str, message: str) -> Plan:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    ).encode()
    headers = ((b"content-type", b"application/xml"), (b"content-length", str(len(body)).encode()))
    return Plan(status, headers, (body,), f"rejected:{code}")
