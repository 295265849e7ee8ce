"""The one HTTP interface the clients talk through: a request value, and a sync and an async
transport that send it and give back a streamed response.

Implementations: `Http1Transport` (asyncio, the async client's default), `HttpxTransport` and
`AsyncHttpxTransport` (httpx2: proxies, other event loops, httpx2's mock and ASGI transports),
and `MockTransport` (the test double, both sync and async). Failures are httpx2's transport
exceptions (`httpx2.TransportError` and its subclasses), whichever transport raised them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class URL:
    """An absolute http(s) URL, parsed once: `target` is the path and query as sent."""

    scheme: str
    host: str
    port: int
    target: str

    @classmethod
    def parse(cls, url: str) -> URL:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"Not an http(s) URL: {url!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(scheme, parts.hostname, parts.port or DEFAULT_PORTS[scheme], target)

    def join(self, path: str) -> URL:
        """This URL with `path` appended to its path (a base URL keeps its own prefix)."""
        return URL(self.scheme, self.host, self.port, self.target.rstrip("/") + path)

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS[self.scheme] == self.port
        return host if default else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.target}"


@dataclass(frozen=True, slots=True)
class Timeout:
    """`read` is the longest silence tolerated between two reads of a stream, not a total."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 10.0


@dataclass(frozen=True, slots=True)
class BodyStream:
    """A request body sent a chunk at a time (an upload read from disk), of a length known up
    front. `chunks()` starts over on each call, so an attempt sent again sends it whole."""

    length: int
    chunks: Callable[[], Iterator[bytes]]


@dataclass(frozen=True, slots=True)
class Request:
    """What the client sends: `headers` are complete but for Host and Content-Length, which
    the transport adds."""

    method: str
    url: URL
    headers: Mapping[str, str]
    body: bytes | BodyStream = b""
    timeout: Timeout = Timeout()


class Response(Protocol):
    """A response head, its body read as it arrives; `close()` gives the connection back."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def iter_bytes(self) -> Iterator[bytes]: ...

    def read(self) -> bytes: ...

    def close(self) -> None: ...


class AsyncResponse(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aread(self) -> bytes: ...

    async def aclose(self) -> None: ...


class Transport(Protocol):
    def send(self, request: Request) -> Response: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def send(self, request: Request) -> AsyncResponse: ...

    async def aclose(self) -> None: ...
