"""What the gateway does with the attachments a dialect found, before the client uploads them.

Every file is held to `GatewaySettings.max_attachment_bytes`. An http(s) URL is refused unless
its host is in `GatewaySettings.attachment_hosts`: a gateway that fetches whatever URL a client
names can be made to read internal addresses (the cloud metadata service, an admin page) for
anyone who can reach it. For an allowed host the file is fetched here, with a timeout, the
limit enforced while reading, and redirects followed only to allowed hosts. Every refusal is a
400 in the dialect's shape naming the field and the URL's host.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx2

from raycast_ai.attachments import Attachment
from raycast_ai.dialects.attachments import URL_PART, attachment_part, part_type
from raycast_ai.dialects.base import Chat
from raycast_ai.dialects.errors import BadRequest, invalid_request
from raycast_ai.protocol.files import ATTACHMENT_PART, too_large

from .settings import GatewaySettings

FETCH_TIMEOUT = 20.0
MAX_REDIRECTS = 5
_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


def has_attachments(messages: Iterable[Mapping[str, Any]]) -> bool:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(
            part_type(p) in (ATTACHMENT_PART, URL_PART) for p in content
        ):
            return True
    return False


async def resolve(
    chat: Chat, settings: GatewaySettings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> Chat:
    """`chat` with its files checked against the limit and its URLs fetched (or refused)."""
    if not has_attachments(chat.messages):
        return chat
    limit = settings.max_attachment_bytes
    messages: list[Mapping[str, Any]] = []
    for message in chat.messages:
        content = message.get("content")
        if not isinstance(content, list):
            messages.append(message)
            continue
        parts: list[Any] = []
        for part in content:
            kind = part_type(part)
            if kind == ATTACHMENT_PART:
                attachment: Attachment = part[ATTACHMENT_PART]
                if attachment.size > limit:
                    raise _bad(too_large(attachment.size, limit), part.get("param"))
                parts.append(part)
            elif kind == URL_PART:
                fetched = await fetch(part, settings, transport=transport)
                parts.append(attachment_part(fetched, str(part.get("param"))))
            else:
                parts.append(part)
        messages.append({**message, "content": parts})
    return dataclasses.replace(chat, messages=messages)


def allowed(url: str, hosts: Sequence[str]) -> bool:
    """Whether `url` is http(s) on one of `hosts`: `example.com`, `example.com:8443`, or
    `*.example.com` for its subdomains."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    for entry in hosts:
        entry = entry.strip().lower()
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return True
        if entry == host or (port is not None and entry == f"{host}:{port}"):
            return True
    return False


async def fetch(
    part: Mapping[str, Any],
    settings: GatewaySettings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> Attachment:
    url, param, hint = str(part["url"]), str(part.get("param")), str(part.get("hint"))
    host = _host(url)
    if not allowed(url, settings.attachment_hosts):
        raise _bad(
            f"This gateway does not fetch files from URLs (host {host}); send the file inline, "
            f"{hint}. Its operator can allow a host with 'raycast-ai serve --attachment-host "
            "HOST'.",
            param,
        )
    limit = settings.max_attachment_bytes
    try:
        async with httpx2.AsyncClient(
            timeout=FETCH_TIMEOUT, follow_redirects=False, trust_env=False, transport=transport
        ) as http:
            for _ in range(MAX_REDIRECTS + 1):
                async with http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urllib.parse.urljoin(url, response.headers["location"])
                        if not allowed(url, settings.attachment_hosts):
                            raise _bad(
                                f"The file at {host} redirects to {_host(url)}, which this "
                                f"gateway does not fetch from; send the file inline, {hint}.",
                                param,
                            )
                        continue
                    if response.status_code != 200:
                        raise _bad(
                            f"Fetching the file from {host} failed: HTTP "
                            f"{response.status_code}; send the file inline, {hint}.",
                            param,
                        )
                    data = await _read(response, limit, param)
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    return Attachment.from_bytes(
                        data,
                        filename=part.get("filename") or _filename(url),
                        content_type=kind if "/" in kind and kind not in _GENERIC_TYPES else None,
                        limit=limit,
                    )
    except httpx2.TimeoutException:
        raise _bad(
            f"Fetching the file from {host} took longer than {FETCH_TIMEOUT:.0f} s; send the "
            f"file inline, {hint}.",
            param,
        ) from None
    except httpx2.HTTPError as exc:
        reason = type(exc).__name__
        raise _bad(
            f"Fetching the file from {host} failed ({reason}); send the file inline, {hint}.",
            param,
        ) from None
    raise _bad(f"The file at {host} redirects too often; send the file inline, {hint}.", param)


async def _read(response: httpx2.Response, limit: int, param: str) -> bytes:
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _bad(too_large(int(length), limit), param)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _bad(too_large(size, limit), param)
        chunks.append(chunk)
    return b"".join(chunks)


def _host(url: str) -> str:
    try:
        host = urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:
        host = "?"
    return "".join(c for c in host if c.isprintable())[:100]


def _filename(url: str) -> str | None:
    path = urllib.parse.urlsplit(url).path
    name = urllib.parse.unquote(path.rsplit("/", 1)[-1])
    return "".join(c for c in name if c.isprintable()).strip()[:200] or None


def _bad(message: str, param: object) -> BadRequest:
    where = str(param) if param else None
    text = f"{message} ({where})" if where and where not in message else message
    return BadRequest(invalid_request(text, param=where, code="invalid_attachment"))
