"""What every dialect shares: the neutral request a wire body becomes, the interface a dialect
module offers the gateway, and the answer's usage when Raycast reports none."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from raycast_ai.protocol.completion import Completion
from raycast_ai.protocol.events import Event, Notice, Usage
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.protocol.tokens import estimate_message_tokens, estimate_tokens

from .errors import ErrorInfo


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat request in no dialect: OpenAI-style messages (the client's input), the model name
    as given (`None` is Raycast's default), options, and whether to stream."""

    messages: Sequence[Mapping[str, Any]]
    model: str | None
    options: ChatOptions
    stream: bool
    include_usage: bool = True
    # What a dialect keeps for its own encoder and route (tool names to map back, stored
    # conversation ids, ...); the generic route never reads it.
    context: Mapping[str, Any] = field(default_factory=dict)


class StreamEncoder(Protocol):
    """One stream's frames, as text: the first ones, those of a batch of events, the last ones
    after the final event, and an error that ends the stream after status 200 was sent."""

    def start(self) -> str: ...
    def frames(self, events: Iterable[Event]) -> str: ...
    def end(self) -> str: ...
    def error(self, info: ErrorInfo) -> str: ...


class Dialect(Protocol):
    """A front-end wire format, sans I/O. `parse` raises `BadRequest` for a body it refuses."""

    name: str

    def parse(self, body: bytes) -> Chat: ...
    def encoder(self, chat: Chat, model: str) -> StreamEncoder: ...
    def body(self, chat: Chat, completion: Completion, model: str) -> dict[str, Any]: ...
    def error_json(self, info: ErrorInfo) -> bytes: ...
    def error_status(self, info: ErrorInfo) -> int: ...
    def request_schema(self, ref_template: str) -> dict[str, Any]: ...


def rerouted(events: Iterable[Event]) -> Notice | None:
    """The notice saying Raycast answered with another model, if one is among `events`."""
    return next((e for e in events if isinstance(e, Notice) and e.rerouted), None)


def estimate_usage(
    messages: Sequence[Mapping[str, Any]], output: Iterable[str], reasoning: str = ""
) -> Usage:
    """Locally counted usage, for when Raycast reports none: an estimate (see protocol.tokens),
    which the gateway labels as one."""
    output_tokens = sum(map(estimate_tokens, output))
    reasoning_tokens = estimate_tokens(reasoning)
    return Usage(
        input_tokens=estimate_message_tokens(messages),
        output_tokens=output_tokens + reasoning_tokens,
        reasoning_tokens=reasoning_tokens or None,
    )


def completion_usage(chat: Chat, completion: Completion) -> tuple[Usage, bool]:
    """The usage to report, and whether it is an estimate."""
    if completion.usage is not None:
        return completion.usage, False
    output = [completion.text, *(c.name + c.arguments for c in completion.tool_calls)]
    return estimate_usage(chat.messages, output, completion.reasoning), True
