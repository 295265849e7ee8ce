"""Which dialect each chat route speaks; requests outside them are answered in OpenAI's."""

from __future__ import annotations

from raycast_ai.dialects import (
    anthropic_messages,
    openai_chat,
    openai_completions,
    openai_responses,
)
from raycast_ai.dialects.base import Dialect

CHAT_ROUTES: dict[str, Dialect] = {
    "/v1/chat/completions": openai_chat,
    "/v1/completions": openai_completions,
    "/v1/messages": anthropic_messages,
}
DEFAULT_DIALECT: Dialect = openai_chat


# Dialects whose paths have their own routes rather than the generic chat route.
OWN_ROUTES: dict[str, Dialect] = {
    "/v1/responses": openai_responses,
}


def dialect_for(path: str) -> Dialect:
    """The dialect of a chat route, also for paths under it (`/v1/messages/count_tokens`)."""
    for route, own in OWN_ROUTES.items():
        if path == route or path.startswith(route + "/"):
            return own
    dialect = CHAT_ROUTES.get(path)
    if dialect is not None:
        return dialect
    for route, under in CHAT_ROUTES.items():
        if path.startswith(route + "/"):
            return under
    return DEFAULT_DIALECT
