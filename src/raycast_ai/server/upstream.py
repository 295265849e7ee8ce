"""The gateway's transport to Raycast: several connection pools taking requests in turn.

A connection pool's bookkeeping walks all of its connections on every request and every
response close, so one pool holding a thousand open streams costs quadratic time. Spreading the
streams over many pools keeps each one small. All pools share one TLS context.

A request that fails because the server closed the connection before answering is sent once
more, on the next pool: that is the race of reusing a kept-alive connection just as the server
drops it, and the request never reached Raycast's application. Everything else is left to the
client's own policy (the gateway does not retry; OpenAI clients do).
"""

from __future__ import annotations

import itertools
import logging
import math

import httpx2

log = logging.getLogger("raycast_ai.server")

DEFAULT_SHARDS = 64
# Shorter than the common 5 s server keep-alive, so an idle connection is dropped by us before
# the server closes it under a request that was just sent on it.
KEEPALIVE_EXPIRY = 4.0
_DROPPED = (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)


class ShardedTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self,
        shards: int = DEFAULT_SHARDS,
        *,
        max_connections: int | None = None,
        max_keepalive_connections: int = 512,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        shards = max(shards, 1)
        per_shard = httpx2.Limits(
            max_connections=None if max_connections is None else -(-max_connections // shards),
            max_keepalive_connections=math.ceil(max_keepalive_connections / shards),
            keepalive_expiry=keepalive_expiry,
        )
        context = httpx2.create_ssl_context(trust_env=False)
        self.pools = tuple(
            httpx2.AsyncHTTPTransport(verify=context, trust_env=False, limits=per_shard)
            for _ in range(shards)
        )
        self._next = itertools.cycle(self.pools)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await next(self._next).handle_async_request(request)
        except _DROPPED as exc:
            log.debug("connection dropped before an answer (%s); sending once more", exc)
            return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()
