"""The small routes Anthropic clients call besides `POST /v1/messages`: token counting (a local
estimate, never a call to Raycast) and the root that Claude Code probes before its first turn."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from raycast_ai.dialects import anthropic_messages
from raycast_ai.dialects.anthropic_wire import (
    CountTokensRequest,
    input_tokens,
    to_messages,
    to_tools,
)
from raycast_ai.dialects.errors import BadRequest, validation_error

from .chat import error_response, json_response


async def count_tokens(request: Request) -> Response:
    """`{"input_tokens": N}`, estimated like the usage the gateway reports when Raycast gives
    none (see protocol.tokens): the same prompt always counts the same, and more text more."""
    try:
        try:
            body = CountTokensRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            raise validation_error(exc, "a JSON object with 'model' and 'messages'") from None
        count = input_tokens(to_messages(body), to_tools(body.tools))
    except BadRequest as exc:
        return error_response(anthropic_messages, exc.info)
    return json_response({"input_tokens": count})


async def root(request: Request) -> Response:
    return json_response({"status": "ok", "service": "raycast-ai gateway"})


def anthropic_routes() -> list[Route]:
    return [
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/", root, methods=["GET"]),  # HEAD comes with GET
        Route("/api/hello", root, methods=["GET"]),  # Claude Code's connectivity probe
    ]
