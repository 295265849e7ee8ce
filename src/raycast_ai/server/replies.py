"""The gateway's plain answers: a JSON body, and an error in a dialect's shape."""

from __future__ import annotations

import json

from starlette.responses import Response

from raycast_ai.dialects.base import Dialect
from raycast_ai.dialects.errors import ErrorInfo

from . import metrics


def error_response(dialect: Dialect, info: ErrorInfo) -> Response:
    metrics.error(info)
    return Response(
        dialect.error_json(info),
        dialect.error_status(info),
        info.headers,
        media_type="application/json",
    )


def json_response(
    payload: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, headers, media_type="application/json")
