"""The Server-Sent-Events response of a streamed answer in any dialect, as a raw ASGI callable.

The events of one upstream read go out in one `send` (`SLICE` events at most), so a burst costs
one write, not one per token; `send` waits while the server's write buffer is full, so a slow
reader stops the upstream read instead of growing memory. A client that goes away has the
response's task cancelled (`DisconnectMiddleware`), which closes the upstream response at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from raycast_ai.client import AsyncChatStream
from raycast_ai.dialects.base import StreamEncoder
from raycast_ai.dialects.errors import error_info
from raycast_ai.protocol.errors import RaycastError
from raycast_ai.protocol.events import Event, Finish, Notice

from . import metrics
from .metering import Meter

log = logging.getLogger("raycast_ai.server")

# Events encoded and written at once. One upstream read held up to a megabyte of Raycast's
# events, which OpenAI's chunks make about 8.6 times larger: encoded whole, a slow reader's
# stream held 9 MB at a time. In slices, each written only once the client has taken the last
# (uvicorn's `send` waits for the write buffer to drain), a stream holds one slice.
SLICE = 256


class EventStreamResponse(Response):
    """Status 200 is already decided: the first upstream events arrived without an error."""

    media_type = "text/event-stream"

    def __init__(
        self,
        stream: AsyncChatStream,
        encoder: StreamEncoder,
        first: Sequence[Event],
        headers: dict[str, str] | None = None,
        on_complete: Callable[[], Awaitable[None]] | None = None,
        meter: Meter | None = None,
    ) -> None:
        """`on_complete` is awaited once the encoder ended the stream without an error, before
        its last frames go out (a client that reads them may rely on what it did). `meter`
        counts the events and records the usage when the stream ends, however it ends."""
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self._stream = stream
        self._encoder = encoder
        self._first = first
        self._on_complete = on_complete
        self._meter = meter
        self._completed = False
        self.init_headers(
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "x-accel-buffering": "no",
                **(headers or {}),
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics.stream_opened()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            end = await self._send_events(send)
            if self._completed and self._on_complete is not None:
                await _run_hook(self._on_complete)
            # The last frames and the end of the body in one write.
            await send({"type": "http.response.body", "body": end.encode(), "more_body": False})
        finally:
            if self._meter is not None:
                self._meter.done()
            metrics.stream_closed()
            # Shielded: when `DisconnectMiddleware` cancels this task because the client went
            # away, the upstream must still be closed.
            await asyncio.shield(_close(self._stream))

    async def _send_events(self, send: Send) -> str:
        """Sends the events' frames; returns the last ones (the usage chunk, [DONE], an error).

        The frames of a slice that ends the answer (`Finish`, Raycast's last chunk) wait for
        them: what follows is the end of the upstream response, so they lose no time, and the
        answer's last frames go out in one write instead of two.
        """
        encoder = self._encoder
        held = ""
        last = len(self._first) - 1
        # Pings before the first token keep nothing alive: data follows now.
        first = [e for i, e in enumerate(self._first) if i == last or not isinstance(e, Notice)]
        meter = self._meter
        try:
            if meter is not None:
                meter.add(first)
            await send(_body(encoder.start() + encoder.frames(first)))
            metrics.first_token()
            async for batch in self._stream.batches():
                if meter is not None:
                    meter.add(batch)
                for start in range(0, len(batch), SLICE):
                    part = batch if len(batch) <= SLICE else batch[start : start + SLICE]
                    frames = encoder.frames(part)
                    if type(part[-1]) is Finish:
                        held += frames
                    elif frames:
                        await send(_body(held + frames))
                        held = ""
            end = held + encoder.end()
            self._completed = True
        except RaycastError as exc:
            info = error_info(exc)
            log.warning("stream failed after 200: %s (%s)", type(exc).__name__, info.code)
            metrics.error(info, stream=True)
            end = held + encoder.error(info)
        except Exception:
            log.exception("stream failed after 200")
            info = error_info(RaycastError("The gateway failed mid-stream."))
            metrics.error(info, stream=True)
            end = held + encoder.error(info)
        return end


async def _run_hook(hook: Callable[[], Awaitable[None]]) -> None:
    try:
        await hook()
    except Exception:
        log.exception("the hook after a completed stream failed")


def _body(frames: str) -> dict[str, object]:
    return {"type": "http.response.body", "body": frames.encode(), "more_body": True}


async def _close(stream: AsyncChatStream) -> None:
    try:
        await stream.aclose()
    except Exception:
        log.debug("closing the upstream stream failed", exc_info=True)
