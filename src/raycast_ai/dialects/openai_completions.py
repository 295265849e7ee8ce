"""OpenAI's legacy text completions (`POST /v1/completions`), sans I/O: the prompt is one user
message; the answer comes back as `text_completion` objects, streamed as chunks of the same.

Used: `model`, `prompt` (a string, or a list holding one), `stream`,
`stream_options.include_usage`, `temperature`, `echo`. Refused with 400: token arrays, several
prompts and `n` > 1 (Raycast gives one answer per request). Accepted and ignored: `max_tokens`,
`stop`, `suffix`, `best_of`, `logprobs`, penalties, `seed`, `user`. Reasoning is not part of
this dialect's answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from raycast_ai.protocol.completion import Completion
from raycast_ai.protocol.events import Event, Finish, TextDelta, Usage
from raycast_ai.protocol.request import ChatOptions

from .base import Chat, completion_usage
from .errors import BadRequest, ErrorInfo, invalid_request, validation_error
from .openai_chat import DONE, PING, finish_reason, usage_dict, usage_end

# This dialect's errors are OpenAI's.
from .openai_chat import error_json as error_json
from .openai_chat import error_status as error_status
from .openai_wire import StreamOptions

name = "openai-completions"


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    echo: StrictBool = False
    n: int | None = Field(default=None, ge=1)


def request_schema(ref_template: str) -> dict[str, Any]:
    return CompletionRequest.model_json_schema(ref_template=ref_template)


def parse(body: bytes) -> Chat:
    try:
        request = CompletionRequest.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc, "a JSON object with 'prompt'") from None
    prompt: object = request.prompt
    if isinstance(prompt, list):
        if not all(isinstance(p, str) for p in prompt):
            raise BadRequest(
                invalid_request(
                    "Token arrays are not supported: send the prompt as text.", param="prompt"
                )
            )
        if len(prompt) != 1:
            raise BadRequest(
                invalid_request(
                    "Send one prompt per request: Raycast gives one answer.", param="prompt"
                )
            )
        prompt = prompt[0]
    if request.n is not None and request.n != 1:
        raise BadRequest(
            invalid_request("Only n=1 is supported: Raycast gives one answer.", param="n")
        )
    assert isinstance(prompt, str)
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    return Chat(
        [{"role": "user", "content": prompt}],
        request.model,
        ChatOptions(temperature=request.temperature),
        request.stream,
        include_usage,
        context={"echo": prompt if request.echo else ""},
    )


def _id() -> str:
    return f"cmpl-{random.getrandbits(96):024x}"


class TextEncoder:
    """One stream's `text_completion` chunks; only text becomes content."""

    __slots__ = ("_end", "_finished", "_head", "_messages", "_said", "_tail", "echo", "usage")

    def __init__(self, model: str, *, include_usage: bool, chat: Chat) -> None:
        self._head = (
            f'data: {{"id":{_quote(_id())},"object":"text_completion",'
            f'"created":{int(time.time())},"model":{_quote(model)},"choices":[{{"text":'
        )
        self._end = ',"usage":null}\n\n' if include_usage else "}\n\n"
        self._tail = ',"index":0,"logprobs":null,"finish_reason":null}]' + self._end
        self._messages: Sequence[Mapping[str, Any]] = chat.messages
        self._said: list[str] | None = [] if include_usage else None
        self._finished = False
        self.echo: str = chat.context.get("echo", "")
        self.usage: Usage | None = None

    def start(self) -> str:
        return self._head + _quote(self.echo) + self._tail if self.echo else ""

    def frames(self, events: Iterable[Event]) -> str:
        out: list[str] = []
        for event in events:
            if isinstance(event, TextDelta):
                if self._said is not None:
                    self._said.append(event.text)
                out.append(self._head + _quote(event.text) + self._tail)
            elif isinstance(event, Usage):
                self.usage = event
            elif isinstance(event, Finish) and not self._finished:
                self._finished = True
                reason = _quote(finish_reason(event.reason, False))
                out.append(
                    self._head + '"","index":0,"logprobs":null,"finish_reason":'
                    f"{reason}}}]" + self._end
                )
            elif getattr(event, "kind", None) == "ping":
                out.append(PING)
        return "".join(out)

    def end(self) -> str:
        if self._said is None:
            return DONE
        return usage_end(self._head, self.usage, self._messages, self._said)

    @staticmethod
    def error(info: ErrorInfo) -> str:
        return "data: " + error_json(info).decode() + "\n\n" + DONE


def encoder(chat: Chat, model: str) -> TextEncoder:
    return TextEncoder(model, include_usage=chat.include_usage, chat=chat)


def body(chat: Chat, completion: Completion, model: str) -> dict[str, Any]:
    usage, _ = completion_usage(chat, completion)
    return {
        "id": _id(),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "text": chat.context.get("echo", "") + completion.text,
                "index": 0,
                "logprobs": None,
                "finish_reason": finish_reason(completion.finish_reason or "stop", False),
            }
        ],
        "usage": usage_dict(usage),
    }
