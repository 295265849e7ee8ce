"""The OpenAI Responses dialect (`POST /v1/responses`), sans I/O: a request body to the neutral
`Chat` (see `openai_responses_wire`), typed Raycast events to `response.*` stream events or one
`response` object, and errors to OpenAI's error body.

Every stream event is `event: <type>` + `data: <json>` with a `sequence_number` from 0; every
output item gets its `response.output_item.done` (Codex reads items only from those), and the
stream ends with exactly one of `response.completed`, `response.incomplete`, `response.failed`
(see `openai_responses_events`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from raycast_ai.protocol.completion import Completion
from raycast_ai.protocol.events import Event, ReasoningDelta, TextDelta, ToolCallDelta
from raycast_ai.protocol.remote import markdown_images
from raycast_ai.protocol.request import ChatOptions
from raycast_ai.protocol.structured import OutputSchema
from raycast_ai.protocol.tokens import estimate_message_tokens, estimate_tokens

from .base import Chat, completion_usage
from .errors import BadRequest, invalid_request, validation_error

# This dialect's errors are OpenAI's.
from .openai_chat import error_json as error_json
from .openai_chat import error_status as error_status
from .openai_responses_events import (
    INCOMPLETE,
    Context,
    ResponsesEncoder,
    context_of,
    custom_input,
    response_id,
    response_object,
    url_citations,
    usage_dict,
)
from .openai_responses_wire import (
    ResponsesRequest,
    ToolNames,
    convert_tool_choice,
    convert_tools,
    input_messages,
)
from .structured import output_format

name = "openai-responses"
# The request fields a response object echoes.
ECHOED = (
    "instructions",
    "previous_response_id",
    "store",
    "parallel_tool_calls",
    "tool_choice",
    "tools",
    "reasoning",
    "text",
    "temperature",
    "top_p",
    "max_output_tokens",
    "metadata",
)
DROPPED_TOOLS_HEADER = "x-raycast-dropped-tools"


def parse(body: bytes) -> Chat:
    try:
        request = ResponsesRequest.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc, "a JSON object with 'model' and 'input'") from None
    if request.conversation is not None:
        raise BadRequest(
            invalid_request(
                "Conversations are not supported by this gateway; chain responses with "
                "previous_response_id, or send the whole input.",
                param="conversation",
            )
        )
    tools = convert_tools(request.tools or ())
    items = input_messages(request.input, tools.names)
    options = ChatOptions(
        temperature=request.temperature,
        reasoning_effort=request.reasoning.effort if request.reasoning else None,
        tools=tools.offered,
        tool_choice=convert_tool_choice(request.tool_choice, tools.names, tools.remote),
        output=_output(request.text),
        remote_tools=tools.remote,
    )
    store = request.store is not False
    echo = {
        "instructions": request.instructions,
        "previous_response_id": request.previous_response_id,
        "store": store,
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "tool_choice": request.tool_choice or "auto",
        "tools": request.tools or [],
        "reasoning": {
            "effort": request.reasoning.effort if request.reasoning else None,
            "summary": request.reasoning.summary if request.reasoning else None,
        },
        "text": request.text or {"format": {"type": "text"}},
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_output_tokens": request.max_output_tokens,
        "metadata": request.metadata or {},
    }
    context = Context(
        input=items,
        instructions=request.instructions or None,
        tools=tools.names,
        dropped_tools=tools.dropped,
        store=store,
        previous_response_id=request.previous_response_id,
        echo=echo,
    )
    return Chat(
        _messages(context, ()), request.model, options, request.stream, True, {"responses": context}
    )


def _output(text: Mapping[str, Any] | None) -> OutputSchema | None:
    format = text.get("format") if isinstance(text, Mapping) else None
    return output_format(format, "text.format", nested=False)


def with_history(chat: Chat, history: Sequence[Mapping[str, Any]]) -> Chat:
    """`chat` continuing a stored conversation: its instructions, then `history`, then its input
    (instructions are not carried over from the earlier responses)."""
    messages = _messages(context_of(chat), history)
    return Chat(messages, chat.model, chat.options, chat.stream, True, chat.context)


def _messages(context: Context, history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    system = [{"role": "system", "content": context.instructions}] if context.instructions else []
    return [*system, *history, *context.input]


def output_messages(output: Sequence[Mapping[str, Any]], tools: ToolNames) -> list[dict[str, Any]]:
    """A response's output items as neutral messages, to continue from them."""
    return input_messages([i for i in output if i.get("type") != "reasoning"], tools)


def input_items(
    messages: Sequence[Mapping[str, Any]], tools: ToolNames, id: str
) -> list[dict[str, Any]]:
    """Neutral messages as the input items of response `id`, in order, tool names as the client
    gave them (the ids derive from `id` and the position)."""
    suffix = id.removeprefix("resp_")
    items: list[dict[str, Any]] = []
    custom_calls: set[str] = set()
    for message in messages:
        role = str(message.get("role"))
        text = message.get("content")
        text = text if isinstance(text, str) else ""
        at = f"{suffix}{len(items):02d}"
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            kind = "custom_tool_call_output" if call_id in custom_calls else "function_call_output"
            items.append({"id": f"fco_{at}", "type": kind, "call_id": call_id, "output": text})
            continue
        calls = message.get("tool_calls") or ()
        if text or not calls:
            kind = "output_text" if role == "assistant" else "input_text"
            part: dict[str, Any] = {"type": kind, "text": text}
            if role == "assistant":
                part["annotations"] = []
            item: dict[str, Any] = {"id": f"msg_{at}", "type": "message", "role": role}
            item["status"] = "completed"
            items.append(item | {"content": [part]})
        for call in calls:
            function = call.get("function") or {}
            tool = tools.original(str(function.get("name") or ""))
            arguments = str(function.get("arguments") or "")
            at = f"{suffix}{len(items):02d}"
            call_id = str(call.get("id") or "")
            if tool.custom:
                custom_calls.add(call_id)
                item = {"id": f"ctc_{at}", "type": "custom_tool_call"}
                item |= {"input": custom_input(arguments)}
            else:
                item = {"id": f"fc_{at}", "type": "function_call", "arguments": arguments}
                if tool.namespace:
                    item["namespace"] = tool.namespace
            items.append(item | {"status": "completed", "call_id": call_id, "name": tool.name})
    return items


def input_tokens(chat: Chat) -> int:
    """The request's input tokens, estimated as when Raycast reports no usage (tool schemas
    included); never a call to Raycast."""
    tools = json.dumps(list(chat.options.tools)) if chat.options.tools else ""
    return estimate_message_tokens(chat.messages) + (estimate_tokens(tools) if tools else 0)


def replay(response: Mapping[str, Any]) -> str:
    """A stored response as the stream that made it (`GET /v1/responses/{id}?stream=true`):
    the same events and item ids, ending with the stored object itself."""
    tools = convert_tools(response.get("tools") or ()).names
    echo = {key: response.get(key) for key in ECHOED}
    context = Context((), None, tools, (), bool(response.get("store")), None, echo)
    chat = Chat([], None, ChatOptions(), True, True, {"responses": context})
    model, created = str(response.get("model")), int(response.get("created_at") or 0)
    encoder = ResponsesEncoder(chat, model, id=str(response["id"]), created=created)
    events: list[Event] = []
    for item in response.get("output") or ():
        kind = item.get("type")
        if kind == "reasoning":
            events.append(ReasoningDelta("".join(s["text"] for s in item.get("summary") or ())))
        elif kind == "message":
            text = "".join(p.get("text") or p.get("refusal") or "" for p in item["content"])
            events.append(TextDelta(text))
        elif kind in ("function_call", "custom_tool_call"):
            name = tools.flat(str(item["name"]), item.get("namespace"))
            arguments = item.get("arguments")
            if kind == "custom_tool_call":
                arguments = json.dumps({"input": item.get("input") or ""}, ensure_ascii=False)
            index = sum(isinstance(e, ToolCallDelta) for e in events)
            events.append(ToolCallDelta(index, str(item["call_id"]), name, str(arguments)))
    return encoder.start() + encoder.frames(events) + encoder.end(response)


def encoder(chat: Chat, model: str) -> ResponsesEncoder:
    return ResponsesEncoder(chat, model)


def body(
    chat: Chat, completion: Completion, model: str, *, id: str | None = None
) -> dict[str, Any]:
    """The whole `response` object; `usage` is Raycast's, else estimated (`estimated: true`)."""
    context = context_of(chat)
    id = id or response_id()
    suffix = id.removeprefix("resp_")
    output: list[dict[str, Any]] = []
    if completion.reasoning:
        summary = [{"type": "summary_text", "text": completion.reasoning}]
        output.append({"id": f"rs_{suffix}00", "type": "reasoning", "summary": summary})
    text = completion.text + markdown_images(completion.images, after=completion.text)
    if text or completion.citations or not completion.tool_calls:
        notes = url_citations(text, completion.citations)
        part = {"type": "output_text", "text": text, "annotations": notes}
        item = {"id": f"msg_{suffix}{len(output):02d}", "type": "message", "status": "completed"}
        output.append(item | {"role": "assistant", "content": [part]})
    for call in completion.tool_calls:
        tool = context.tools.original(call.name)
        index = len(output)
        call_id = call.id or f"call_{suffix}{index:02d}"
        if tool.custom:
            item = {"id": f"ctc_{suffix}{index:02d}", "type": "custom_tool_call"}
            item |= {"input": custom_input(call.arguments)}
        else:
            item = {"id": f"fc_{suffix}{index:02d}", "type": "function_call"}
            item |= {"arguments": call.arguments or "{}"}
            if tool.namespace:
                item["namespace"] = tool.namespace
        output.append(item | {"status": "completed", "call_id": call_id, "name": tool.name})
    usage, estimated = completion_usage(chat, completion)
    reason = completion.finish_reason
    status = reason if reason in INCOMPLETE else "completed"
    created = int(time.time())
    return response_object(
        context,
        id,
        created,
        model,
        status=status,
        output=output,
        usage=usage_dict(usage, estimated),
    )


def request_schema(ref_template: str) -> dict[str, Any]:
    return ResponsesRequest.model_json_schema(ref_template=ref_template)
