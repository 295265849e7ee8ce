"""Which dialect each chat route speaks; requests outside them are answered in OpenAI's."""

from __future__ import annotations

from raycast_ai.dialects import openai_chat, openai_completions
from raycast_ai.dialects.base import Dialect

CHAT_ROUTES: dict[str, Dialect] = {
    "/v1/chat/completions": openai_chat,
    "/v1/completions": openai_completions,
}
DEFAULT_DIALECT: Dialect = openai_chat


def dialect_for(path: str) -> Dialect:
    return CHAT_ROUTES.get(path, DEFAULT_DIALECT)
