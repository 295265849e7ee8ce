"""Request bodies of the OpenAI-compatible API, validated at the edge (unknown fields are ignored).

What `POST /v1/chat/completions` does with each OpenAI field:

- used: `model` (a catalog id, a provider model name or an alias; absent means Raycast's
  default chat model), `messages` (system/developer, user, assistant with `tool_calls`, tool;
  text content parts only), `stream`, `stream_options.include_usage`, `temperature` (dropped
  for models that do not support it), `reasoning_effort` and `reasoning.effort` (the first
  wins), `tools` (function tools), `tool_choice` (auto, none, required or one function),
  `response_format` (`json_object`, `json_schema`: the answer is JSON valid for the schema,
  see `protocol.structured`, or a 502 `invalid_structured_output`), `web_search_options` (any
  object: Raycast's `web_search` remote tool is offered; its `search_context_size` and
  `user_location` have no Raycast field);
- attached (user messages; see `dialects.attachments`): `image_url` parts with a `data:` URL
  (`detail` is ignored), `file` parts with `file_data` (a data URL or bare base64) and an
  optional `filename`; an http(s) URL only from a host the gateway allows; in a tool message
  they become a note, in system and assistant messages a 400;
- refused with 400: `n` other than 1, `input_audio` parts, `file` parts with only a `file_id`;
- accepted and ignored, because Raycast has no equivalent: `max_tokens`,
  `max_completion_tokens`, `stop`, `top_p`, `presence_penalty`, `frequency_penalty`,
  `logit_bias`, `logprobs`, `top_logprobs`, `seed`, `user`,
  `parallel_tool_calls`, `service_tier`, `store`, `metadata`, `modalities`, `prediction`,
  `audio`, legacy `functions` / `function_call`, and any unknown field.

`usage` carries only numbers Raycast reported (`input_tokens` -> `prompt_tokens`,
`output_tokens` -> `completion_tokens`); when Raycast sent none it is `null`, never estimated.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

IGNORED_FIELDS: tuple[str, ...] = (
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_completion_tokens",
    "max_tokens",
    "metadata",
    "modalities",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "seed",
    "service_tier",
    "stop",
    "store",
    "top_logprobs",
    "top_p",
    "user",
)


FILE_PARTS = frozenset({"image_url", "file", "input_audio"})


class _Edge(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Edge):
    name: str
    arguments: str | dict[str, Any] = "{}"


class ToolCall(_Edge):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Edge):
    role: str
    content: str | list[dict[str, Any] | str] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def to_client(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class StreamOptions(_Edge):
    include_usage: StrictBool = False


class Reasoning(_Edge):
    effort: str | None = None


class ChatCompletionRequest(_Edge):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    reasoning_effort: str | None = None
    reasoning: Reasoning | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    n: int | None = Field(default=None, ge=1)
    response_format: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    @property
    def effort(self) -> str | None:
        if self.reasoning_effort:
            return self.reasoning_effort
        return self.reasoning.effort if self.reasoning else None
