"""POST /api/v1/ai/chat_completions: from the received request to the planned response.

Checks run in the real server's order: Bearer token (HTTP 401), v2 signature over the raw body
(HTTP 200 with the one in-stream error line), JSON body (400), directives (400), the
(model, provider) pair (404), attached files unknown or not uploaded (400); then a fault, a tool
call or an answer is streamed (a script, when the config has one, chooses the tool calls and
their answers; `@search` and `@image` play a remote tool, see `remote`). An answer to a message
with files starts by naming them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from raycast_ai.protocol.structured import schema_in

from .catalog import CHAT_DEFAULT, find_model, reasons
from .checks import bearer, error_body, error_plan, signature_ok, token_refusal
from .config import EmulatorConfig
from .delivery import ABORT, Pause, Plan, json_plan, sse_plan
from .faults import (
    FLAKY_FAULTS,
    STATUS_FAULTS,
    AttemptLog,
    DirectiveError,
    Directives,
    json_fault,
    parse_directives,
)
from .files import FileStore, attached, attachment_refusal, seen_sentence
from .instances import encode, instance, invalid_json
from .recorder import RecordedRequest
from .remote import chosen, remote_reply
from .script import ScriptedAnswer, ScriptedCall, pieces
from .stream import (
    ERROR_CHUNKS,
    UNSIGNED_ERROR,
    Reply,
    answer_reply,
    event,
    reply_plan,
    tool_reply,
)
from .text import answer_chunks, count_tokens, reasoning_chunks, tool_reply_chunks
from .tools import (
    arguments_for,
    call_id,
    encode_arguments,
    local_tools,
    pick_tool,
    tool_call_chunks,
)

_T = TypeVar("_T", int, float)

STATUS_MESSAGES: Mapping[int, str] = {
    401: "Your session has expired. Please log in again.",
    403: "You do not have access to this resource.",
    404: "Model does not exist",
    429: "Too many requests. Please try again later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "The AI provider is temporarily unavailable.",
}


def chat_plan(
    record: RecordedRequest,
    config: EmulatorConfig,
    catalog: Mapping[str, Any],
    attempts: AttemptLog,
    files: FileStore | None = None,
) -> Plan:
    headers = record.headers
    refusal = token_refusal(headers, config)
    if refusal is not None:
        return refusal
    if config.require_signature and not signature_ok(headers, record.body, config):
        return sse_plan([event(UNSIGNED_ERROR)], "rejected:signature")
    try:
        body = json.loads(record.body)
    except ValueError:
        return error_plan(400, "The request body is not valid JSON.", "rejected:json")
    messages = body.get("messages") if isinstance(body, dict) else None
    if not messages or not isinstance(messages, list) or not all(map(_is_message, messages)):
        return error_plan(400, "The body needs a non-empty 'messages' array.", "rejected:body")
    prompt = _last_user_text(messages)
    try:
        directives = parse_directives(prompt, headers)
    except DirectiveError as exc:
        return error_plan(400, str(exc), "rejected:directive")
    record.directives = directives
    entry = find_model(catalog, str(body.get("model")), str(body.get("provider")))
    if entry is None:
        return error_plan(404, STATUS_MESSAGES[404], "rejected:model")
    files = files if files is not None else FileStore()
    if config.strict_attachments:
        refusal = attachment_refusal(messages, files)
        if refusal is not None:
            return refusal

    fault = directives.fault or config.token_faults.get(bearer(headers))
    outcome = f"fault:{fault}" if fault else "completed"
    if fault is not None and fault in FLAKY_FAULTS:
        key = f"{fault}:{body.get('message_id') or hashlib.sha256(record.body).hexdigest()}"
        fault = FLAKY_FAULTS[fault] if attempts.first_attempt(key) else None
        outcome = outcome if fault else "completed"
    if fault is not None and fault in STATUS_FAULTS:
        return status_fault_plan(fault, directives, outcome)
    if fault is not None and fault in ERROR_CHUNKS:
        return sse_plan([event(ERROR_CHUNKS[fault])], outcome)
    try:
        invalid = _json_invalid(messages, headers)
        reply = _reply(entry, body, messages, prompt, directives, config, files, invalid)
    except DirectiveError as exc:
        return error_plan(400, str(exc), "rejected:directive")
    items = reply_plan(
        reply,
        fault,
        first_delay=_pick(directives.first_delay, config.first_token_delay),
        chunk_delay=_pick(directives.delay, config.chunk_delay),
        stall=directives.stall_seconds,
        reroute=_reroute_message(entry, catalog) if fault == "model_updated" else "",
    )
    return sse_plan(items, outcome)


def status_fault_plan(fault: str, directives: Directives, outcome: str) -> Plan:
    status = STATUS_FAULTS[fault]
    headers: tuple[tuple[bytes, bytes], ...] = ()
    if status == 429 or (status == 503 and directives.retry_after is not None):
        headers = ((b"retry-after", f"{directives.retry_after_seconds:g}".encode()),)
    return json_plan(status, error_body(STATUS_MESSAGES[status]), outcome, headers)


def header_fault_plan(record: RecordedRequest, plan: Plan) -> Plan:
    """`plan` bent by an X-Emulator-Fault header, for the JSON (GET) endpoints."""
    try:
        directives = parse_directives("", record.headers)
    except DirectiveError as exc:
        return error_plan(400, str(exc), "rejected:directive")
    record.directives = directives
    fault = directives.fault
    if fault is None:
        return plan
    outcome = f"fault:{fault}"
    if fault in STATUS_FAULTS:
        return status_fault_plan(fault, directives, outcome)
    if fault == "reset-before":
        return Plan(200, plan.headers, [ABORT], outcome)
    if fault == "stall-before":
        return Plan(
            plan.status, plan.headers, [Pause(directives.stall_seconds), *plan.items], outcome
        )
    return error_plan(
        400,
        f"The fault '{fault}' only applies to chat completions; here use an HTTP status, "
        "reset-before or stall-before.",
        "rejected:directive",
    )


def _reply(
    entry: Mapping[str, Any],
    body: Mapping[str, Any],
    messages: Sequence[Mapping[str, Any]],
    prompt: str,
    directives: Directives,
    config: EmulatorConfig,
    files: FileStore,
    invalid_json_wanted: bool = False,
) -> Reply:
    """A forced tool is called every turn (as `tool_choice: required` makes real models do),
    with arguments valid for its schema; without tools, an answer told to be JSON of a schema
    (`protocol.structured.instruction`) is a fenced instance of it."""
    provider, model_id = str(entry["provider"]), str(entry["id"])
    n = _pick(directives.chunks, config.chunks)
    thinking = reasons(entry, body.get("reasoning_effort"))
    reasoning = reasoning_chunks(prompt, model_id, config.reasoning_chunks) if thinking else []
    last = messages[-1]
    tools = local_tools(body)
    forced = body.get("tool_choice") == "required"
    wants_tool = directives.tool is not None or forced
    scripted = None
    if config.script is not None and not wants_tool:
        scripted = config.script.step(tools, messages, prompt)
    call: tuple[str, str] | None = None
    if isinstance(scripted, ScriptedCall):
        call = scripted.name, encode_arguments(scripted.arguments)
    elif tools and wants_tool and (forced or last.get("author") == "user"):
        tool = pick_tool(tools, directives.tool or "")
        parameters = tool.get("parameters")
        if invalid_json_wanted:
            call = str(tool["name"]), invalid_json(parameters)
        else:
            call = str(tool["name"]), encode_arguments(arguments_for(parameters))
    remote = chosen(body, directives, bool(tools)) if call is None else None
    if remote is not None and last.get("author") == "user":
        kind, name = remote
        said = count_tokens(" ".join(_text(m) for m in messages))
        return remote_reply(kind, name, provider, model_id, body, prompt, said, reasoning, n)
    if call is not None:
        name, arguments = call
        ident = call_id(provider, f"{body.get('message_id')}\0{name}")
        deltas, summary = tool_call_chunks(provider, ident, name, arguments)
        return tool_reply(provider, reasoning, deltas, summary)
    schema = _asked_schema(body, messages)
    if isinstance(scripted, ScriptedAnswer):
        texts = pieces(scripted.text, n)
    elif schema is not None and last.get("author") != "tool":
        json_text = invalid_json(schema) if invalid_json_wanted else encode(instance(schema))
        texts = pieces(f"Here it is:\n\n```json\n{json_text}\n```", n)
    elif last.get("author") == "tool":
        texts = tool_reply_chunks(str(last.get("name") or "tool"), _text(last), model_id, n)
    else:
        texts = answer_chunks(prompt, model_id, n)
        seen = seen_sentence(attached(last, files)) if last.get("author") == "user" else ""
        if seen:
            texts = [seen, *texts]
    usage = (
        count_tokens(" ".join(_text(m) for m in messages)),
        count_tokens("".join(reasoning)) + count_tokens("".join(texts)),
    )
    return answer_reply(provider, reasoning, texts, usage)


def _json_invalid(messages: Sequence[Mapping[str, Any]], headers: Mapping[str, str]) -> bool:
    """Whether `@json:` asks for invalid JSON in this answer: `invalid` always, `invalid-once`
    until an assistant turn follows the message that asked."""
    fault = json_fault("", headers)
    asked_at = -1
    if fault is None:
        for at, message in enumerate(messages):
            if message.get("author") == "user":
                fault = json_fault(_text(message))
                if fault is not None:
                    asked_at = at
                    break
    if fault is None:
        return False
    later = messages[asked_at + 1 :]
    return fault == "invalid" or not any(m.get("author") == "assistant" for m in later)


def _asked_schema(
    body: Mapping[str, Any], messages: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The schema an instruction to answer in JSON carries, wherever the system text went."""
    texts = [body.get("additional_system_instructions"), body.get("system_instruction")]
    texts += [_text(m) for m in messages if m.get("author") == "system"]
    for text in texts:
        if isinstance(text, str) and (schema := schema_in(text)) is not None:
            return schema
    return None


def _is_message(value: object) -> bool:
    return isinstance(value, dict)


def _pick(override: _T | None, default: _T) -> _T:
    return default if override is None else override


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    return content if isinstance(content, str) else ""


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("author") == "user":
            return _text(message)
    return ""


def _reroute_message(entry: Mapping[str, Any], catalog: Mapping[str, Any]) -> str:
    target_id = CHAT_DEFAULT if entry["id"] != CHAT_DEFAULT else "openai-gpt-4o"
    target = next(e for e in catalog["models"] if e["id"] == target_id)
    return (
        f"{entry['name']} is not available on your plan right now, so your request was "
        f"rerouted to {target['name']}."
    )
