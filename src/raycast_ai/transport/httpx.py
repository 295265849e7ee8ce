"""The transport interface over httpx2: for proxies, event loops other than asyncio, and
httpx2's own mock and ASGI transports."""

from __future__ import annotations

import ssl
import traceback
from collections.abc import AsyncIterator, Iterator

import httpx2
import socksio

from .base import BodyStream, Request


def _request(http: httpx2.Client | httpx2.AsyncClient, request: Request) -> httpx2.Request:
    timeout = request.timeout
    headers = dict(request.headers)
    body = request.body
    content: bytes | Iterator[bytes] | AsyncIterator[bytes] | None
    if isinstance(body, bytes):
        content = body or None
    else:
        # A length given up front: httpx2 then sends the chunks as they come, not chunked.
        headers["Content-Length"] = str(body.length)
        content = body.chunks() if isinstance(http, httpx2.Client) else _async_chunks(body)
    return http.build_request(
        request.method,
        str(request.url),
        content=content,
        headers=headers,
        timeout=httpx2.Timeout(
            connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
        ),
    )


async def _async_chunks(body: BodyStream) -> AsyncIterator[bytes]:
    # Chunks of a local file: each read is short, so it is done on the event loop.
    for chunk in body.chunks():
        yield chunk


def _options(
    transport: object, proxy: str | None, verify: ssl.SSLContext, limits: httpx2.Limits | None
) -> dict[str, object]:
    options: dict[str, object] = {"transport": transport, "proxy": proxy, "verify": verify}
    # httpx2 reads no proxy or certificate settings from the environment: config.py does.
    options["trust_env"] = False
    if limits is not None:
        options["limits"] = limits
    return options


def _proxy_error(exc: socksio.ProtocolError) -> httpx2.ProxyError:
    """httpcore2 leaves the proxy connection open when the SOCKS handshake fails: close it."""
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        close = getattr(frame.f_locals.get("stream"), "close", None)
        if callable(close):
            close()
    return httpx2.ProxyError(f"The SOCKS proxy failed its handshake: {exc}")


class HttpxTransport:
    """Sync: every request through one `httpx2.Client`."""

    def __init__(
        self,
        *,
        transport: httpx2.BaseTransport | None = None,
        proxy: str | None = None,
        verify: ssl.SSLContext,
        limits: httpx2.Limits | None = None,
    ) -> None:
        self._http = httpx2.Client(**_options(transport, proxy, verify, limits))  # type: ignore[arg-type]

    def send(self, request: Request) -> httpx2.Response:
        try:
            return self._http.send(_request(self._http, request), stream=True)
        except socksio.ProtocolError as exc:  # a SOCKS proxy that answers garbage
            raise _proxy_error(exc) from None

    def close(self) -> None:
        self._http.close()


class AsyncHttpxTransport:
    """Async: every request through one `httpx2.AsyncClient`."""

    def __init__(
        self,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        proxy: str | None = None,
        verify: ssl.SSLContext,
        limits: httpx2.Limits | None = None,
    ) -> None:
        self._http = httpx2.AsyncClient(**_options(transport, proxy, verify, limits))  # type: ignore[arg-type]

    async def send(self, request: Request) -> httpx2.Response:
        try:
            return await self._http.send(_request(self._http, request), stream=True)
        except socksio.ProtocolError as exc:
            raise _proxy_error(exc) from None

    async def aclose(self) -> None:
        await self._http.aclose()
