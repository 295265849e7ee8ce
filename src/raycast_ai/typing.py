"""Type names kept from the gpt4free seed (`from raycast_ai.typing import Messages`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeAlias

Message: TypeAlias = dict[str, Any]
Messages: TypeAlias = list[Message]
CreateResult: TypeAlias = Iterator[str]
AsyncResult: TypeAlias = AsyncIterator[str]

__all__ = ["AsyncResult", "CreateResult", "Message", "Messages"]
