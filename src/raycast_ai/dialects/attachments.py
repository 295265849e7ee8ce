"""Images and files in dialect requests, sans I/O: the parts and blocks each dialect names its
own way become the neutral attachment part of a user message (`raycast_ai.Attachment`), which
the client uploads before the chat request.

A `data:` URL or base64 is decoded here. An http(s) URL becomes a part that the gateway
resolves under its URL policy before calling Raycast (`server.attachments`): refused unless its
host is allowed. The size limit is the gateway's setting, checked there too, so the parts carry
the field they came from (`param`) for a 400 that names it. Whatever cannot be sent is a
`BadRequest` naming the field, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from raycast_ai.attachments import Attachment
from raycast_ai.protocol.errors import AttachmentError
from raycast_ai.protocol.files import ATTACHMENT_PART

from .errors import BadRequest, invalid_request

URL_PART = "attachment_url"
# The body size limit bounds what a request carries; the gateway's own limit is checked later.
_UNBOUNDED = 1 << 62
DATA_URL_HINT = "as a data URL (data:<type>;base64,<data>)"
BASE64_HINT = 'as a base64 source ({"type": "base64", "media_type": ..., "data": ...})'


def attachment_part(attachment: Attachment, param: str) -> dict[str, Any]:
    return {"type": ATTACHMENT_PART, ATTACHMENT_PART: attachment, "param": param}


def from_data_url(url: str, param: str, filename: str | None = None) -> dict[str, Any]:
    try:
        attachment = Attachment.from_data_url(url, filename=_name(filename), limit=_UNBOUNDED)
    except AttachmentError as exc:
        raise _bad(f"{exc.message} ({param})", param) from None
    return attachment_part(attachment, param)


def from_base64(
    data: object, param: str, *, content_type: object = None, filename: str | None = None
) -> dict[str, Any]:
    """Bare base64 (an Anthropic source's `data`, an OpenAI `file_data` without its `data:`
    prefix); without `content_type`, the type is read from the bytes and the name."""
    if not isinstance(data, str) or not data:
        raise _bad(f"'{param}' needs the file's base64 data.", param)
    if content_type is not None and (not isinstance(content_type, str) or "/" not in content_type):
        raise _bad(f"'{param}' needs a media type such as image/png.", param)
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"The base64 data of '{param}' is not valid.", param) from None
    kind = content_type.strip().lower() if isinstance(content_type, str) else None
    attachment = Attachment.from_bytes(
        raw, filename=_name(filename), content_type=kind, limit=_UNBOUNDED
    )
    return attachment_part(attachment, param)


def from_text(text: object, param: str, filename: str | None = None) -> dict[str, Any]:
    """A plain-text document, sent as a text file."""
    if not isinstance(text, str):
        raise _bad(f"'{param}' needs its text as a string.", param)
    attachment = Attachment.from_bytes(
        text.encode(),
        filename=_name(filename) or "document.txt",
        content_type="text/plain",
        limit=_UNBOUNDED,
    )
    return attachment_part(attachment, param)


def from_url(url: object, param: str, hint: str, filename: str | None = None) -> dict[str, Any]:
    """A `data:` URL decoded, or an http(s) URL left for the gateway's URL policy; anything
    else is a 400 saying how to send the file (`hint`)."""
    if not isinstance(url, str) or not url:
        raise _bad(f"'{param}' needs a URL; send the file inline, {hint}.", param)
    if url[:5].lower() == "data:":
        return from_data_url("data:" + url[5:], param, filename)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme[:20] or "this kind of"
        raise _bad(f"'{param}' is a {scheme} URL; send the file inline, {hint}.", param)
    return {"type": URL_PART, "url": url, "filename": _name(filename), "param": param, "hint": hint}


def file_id_refused(param: str, hint: str) -> BadRequest:
    return _bad(
        f"'{param}' refers to an uploaded file id, which this gateway cannot look up (it has no "
        f"files API); send the file inline, {hint}.",
        param,
    )


def not_in_user_message(kind: str, param: str) -> BadRequest:
    return _bad(
        f"'{param}' is a '{kind}' part outside a user message: images and files can only be "
        "attached to user messages.",
        param,
    )


def omitted(kind: object) -> str:
    """What a tool result says in place of an image or file, which Raycast's tool messages
    cannot carry: the model learns that it was there."""
    return f"[{kind or 'a part'} omitted: tool results reach the model as text only]"


def describe(attachment: Attachment) -> str:
    """One line naming a file, for what keeps a conversation without its bytes."""
    return f"[attached: {attachment.filename} ({attachment.content_type}, {attachment.size} bytes)]"


def described(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """`messages` as JSON can keep them: each file of a user message becomes a line naming it."""
    out: list[Mapping[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list) or not any(
            part_type(p) in (ATTACHMENT_PART, URL_PART) for p in content
        ):
            out.append(message)
            continue
        lines: list[str] = []
        for part in content:
            kind = part_type(part)
            if kind == ATTACHMENT_PART:
                lines.append(describe(part[ATTACHMENT_PART]))
            elif kind == URL_PART:
                lines.append(f"[attached: {part.get('url')}]")
            elif kind in ("text", "input_text") and isinstance(part.get("text"), str):
                lines.append(part["text"])
        out.append({**message, "content": "\n".join(lines)})
    return out


def part_type(part: object) -> str | None:
    kind = part.get("type") if isinstance(part, Mapping) else None
    return kind if isinstance(kind, str) else None


def _name(filename: object) -> str | None:
    if not isinstance(filename, str):
        return None
    # A name is shown and sent as the upload's filename: no path, no control characters.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:200] or None


def _bad(message: str, param: str) -> BadRequest:
    return BadRequest(invalid_request(message, param=param, code="invalid_attachment"))
