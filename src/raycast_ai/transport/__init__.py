"""HTTP for the clients: one small interface (`base`) and its implementations."""

from .base import (
    URL,
    AsyncResponse,
    AsyncTransport,
    BodyStream,
    Request,
    Response,
    Timeout,
    Transport,
)
from .http1 import KEEPALIVE_EXPIRY, Http1Transport, StreamedResponse
from .httpx import AsyncHttpxTransport, HttpxTransport
from .mock import AsyncMockTransport, MockResponse, MockTransport
from .tls import ssl_context

__all__ = [
    "KEEPALIVE_EXPIRY",
    "URL",
    "AsyncHttpxTransport",
    "AsyncMockTransport",
    "AsyncResponse",
    "AsyncTransport",
    "BodyStream",
    "Http1Transport",
    "HttpxTransport",
    "MockResponse",
    "MockTransport",
    "Request",
    "Response",
    "StreamedResponse",
    "Timeout",
    "Transport",
    "ssl_context",
]
