"""The test double: a transport, sync and async at once, answered by a function."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from .base import Request


@dataclass
class MockResponse:
    """An answer: `body` in one piece, or `chunks` read one at a time (an exception among them
    is raised when the reader reaches it, as a connection breaking mid-body would)."""

    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: Iterable[bytes | Exception] = ()
    closed: bool = False

    def __post_init__(self) -> None:
        self.headers = {k.lower(): v for k, v in self.headers.items()}
        if self.body:
            self.chunks = [self.body, *self.chunks]

    def iter_bytes(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if isinstance(chunk, Exception):
                raise chunk
            yield chunk

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        self.closed = True

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for chunk in self.iter_bytes():
            yield chunk

    async def aread(self) -> bytes:
        return self.read()

    async def aclose(self) -> None:
        self.closed = True


Handler = Callable[[Request], MockResponse]
AsyncHandler = Callable[[Request], MockResponse | Awaitable[MockResponse]]


class MockTransport:
    """Calls `handler` with each request: what it returns is the response, what it raises the
    transport's failure. Every request is kept in `requests`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.closed = False

    def send(self, request: Request) -> MockResponse:
        self.requests.append(request)
        return self.handler(request)

    def close(self) -> None:
        self.closed = True


class AsyncMockTransport:
    """`MockTransport` for the async client; `handler` may be a coroutine function."""

    def __init__(self, handler: AsyncHandler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.closed = False

    async def send(self, request: Request) -> MockResponse:
        self.requests.append(request)
        answer = self.handler(request)
        return await answer if inspect.isawaitable(answer) else answer

    async def aclose(self) -> None:
        self.closed = True
