"""Pure ASGI middleware that stops work on a request whose client has gone away.

ASGI servers do not cancel a handler when its client disconnects: a gateway waiting for
Raycast's first token, or collecting a whole non-streamed answer, would keep the upstream request
open for nothing. This middleware listens for `http.disconnect` once the body has arrived and
then cancels the request's task; the handler's cleanup closes the upstream response.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics

log = logging.getLogger("raycast_ai.server")


class DisconnectMiddleware:
    """For requests with a body; it must sit inside `BodyLimitMiddleware`, which reads the
    whole body first, so the first `receive()` here holds all of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        first = await receive()
        if first["type"] != "http.request":
            return  # gone before the body arrived
        body: Message | None = first
        task = asyncio.current_task()
        assert task is not None
        gone = asyncio.Event()
        complete = False

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            # Servers also report a disconnect once the response is complete: not a hang-up.
            if not complete:
                gone.set()
                task.cancel()

        async def app_receive() -> Message:
            nonlocal body
            if body is not None:
                message, body = body, None
                return message
            await gone.wait()
            return {"type": "http.disconnect"}

        async def app_send(message: Message) -> None:
            nonlocal complete
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        watcher = asyncio.ensure_future(watch())
        try:
            await self.app(scope, app_receive, app_send)
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            task.uncancel()
            metrics.disconnected()
            log.info("client went away; %s %s cancelled", scope["method"], scope["path"])
        finally:
            complete = True
            watcher.cancel()
