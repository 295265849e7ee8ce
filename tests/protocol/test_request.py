from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.errors import InvalidRequestError
from raycast_ai.protocol.request import (
    CHAT_PATH,
    MODELS_PATH,
    USER_AGENT,
    ChatOptions,
    ChatRequest,
    base_headers,
    build_chat_request,
    chat_headers,
    content_text,
    encode_json,
    models_headers,
    new_id,
)
from raycast_ai.protocol.signing import signature_v2, verify_v2

UUID_UPPER = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
DEVICE = "d" * 64
NOW = datetime(2026, 6, 2, 8, 30, 0, 123456, tzinfo=UTC)

GPT = ModelEntry(id="openai-gpt-4o-mini", model="gpt-4o-mini", provider="openai")
O3 = ModelEntry(
    id="openai_o1-o3",
    model="o3",
    provider="openai",
    abilities={"temperature": {"supported": False}},
)
GEMINI = ModelEntry(
    id="google-gemini-3.5-flash",
    model="gemini-3.5-flash",
    provider="google",
    abilities={
        "reasoning_effort": {
            "supported": True,
            "options": ["minimal", "low", "medium", "high"],
            "default": "minimal",
        }
    },
)
OPUS = ModelEntry(
    id="anthropic-claude-opus-4-8",
    model="claude-opus-4-8",
    provider="anthropic",
    abilities={
        "reasoning_effort": {
            "supported": True,
            "options": ["none", "low", "medium", "high", "xhigh"],
            "default": "none",
        }
    },
)

WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "weather-get-weather",
        "description": "Gets weather for a specific location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "Location to get the weather from"},
                "query": {"type": "string", "enum": ["current", "hourly", "daily"]},
            },
            "required": ["location", "query"],
        },
    },
}
CLOCK: dict[str, Any] = {"type": "function", "function": {"name": "clock-now"}}


def build(
    messages: Sequence[Mapping[str, Any]],
    model: ModelEntry = GPT,
    **options: Any,
) -> tuple[dict[str, Any], ChatRequest]:
    request = build_chat_request(messages, model, ChatOptions(**options), now=NOW)
    return json.loads(request.body), request


def body_of(messages: Sequence[Mapping[str, Any]], **options: Any) -> dict[str, Any]:
    return build(messages, **options)[0]


HELLO = [{"role": "user", "content": "hello"}]


# --- the body as a whole ------------------------------------------------------------------------


def test_minimal_body() -> None:
    body, request = build(HELLO)
    assert body == {
        "additional_system_instructions": "",
        "current_date": "2026-06-02T08:30:00.123456Z",
        "debug": False,
        "locale": "en-US",
        "message_id": request.message_id,
        "messages": [{"author": "user", "content": {"text": "hello"}}],
        "model": "gpt-4o-mini",
        "provider": "openai",
        "source": "ai_chat",
        "system_instruction": "markdown",
        "thread_id": request.thread_id,
        "tools": [],
    }


def test_body_uses_catalog_model_and_provider_not_id() -> None:
    body = body_of(HELLO, model=OPUS)
    assert body["model"] == "claude-opus-4-8"
    assert body["provider"] == "anthropic"
    assert "anthropic-claude-opus-4-8" not in json.dumps(body)


def test_body_bytes_are_compact_sorted_utf8() -> None:
    _, request = build([{"role": "user", "content": '今天是几号? "quoted" a/b'}])
    text = request.body.decode("utf-8")
    assert "今天是几号" in text
    assert "\\u" not in text
    assert "a/b" in text
    assert ": " not in text.replace('几号? \\"quoted\\"', "")
    assert ", " not in text
    assert request.body == encode_json(json.loads(request.body))
    keys = list(json.loads(request.body))
    assert keys == sorted(keys)


def test_nested_keys_are_sorted_too() -> None:
    _, request = build(HELLO, tools=[WEATHER])
    text = request.body.decode()
    assert text.index('"description"') < text.index('"name"') < text.index('"parameters"')


def test_body_signature_verifies() -> None:
    _, request = build([{"role": "user", "content": "héllo 测试"}])
    headers = chat_headers(
        request.body, token="tok", secret="abcXYZ09", device_id=DEVICE, timestamp=1700000000
    )
    assert verify_v2(
        "abcXYZ09", "1700000000", DEVICE, request.body, headers["X-Raycast-Signature-v2"]
    )
    reencoded = json.dumps(json.loads(request.body)).encode()
    assert not verify_v2(
        "abcXYZ09", "1700000000", DEVICE, reencoded, headers["X-Raycast-Signature-v2"]
    )


def test_encode_json() -> None:
    assert encode_json({"b": 1, "a": ["测试", {"d": None, "c": True}]}) == (
        '{"a":["测试",{"c":true,"d":null}],"b":1}'.encode()
    )


def test_locale_and_source_options() -> None:
    body = body_of(HELLO, locale="en-JP", source="quick_ai")
    assert (body["locale"], body["source"]) == ("en-JP", "quick_ai")


def test_paths() -> None:
    assert CHAT_PATH == "/api/v1/ai/chat_completions"
    assert MODELS_PATH == "/api/v1/ai/models"


# --- ids and date -------------------------------------------------------------------------------


def test_thread_and_message_ids_are_uppercase_uuids() -> None:
    body, request = build(HELLO)
    assert UUID_UPPER.match(body["thread_id"])
    assert UUID_UPPER.match(body["message_id"])
    assert body["thread_id"] != body["message_id"]
    assert (request.thread_id, request.message_id) == (body["thread_id"], body["message_id"])


def test_each_request_gets_new_ids() -> None:
    first, second = build(HELLO)[0], build(HELLO)[0]
    assert first["thread_id"] != second["thread_id"]
    assert first["message_id"] != second["message_id"]


def test_thread_id_option_is_kept() -> None:
    thread = new_id()
    body, request = build(HELLO, thread_id=thread)
    assert body["thread_id"] == request.thread_id == thread
    assert body["message_id"] != thread


def test_new_id() -> None:
    assert UUID_UPPER.match(new_id())


def test_current_date_format() -> None:
    assert body_of(HELLO)["current_date"] == "2026-06-02T08:30:00.123456Z"
    midnight = datetime(2026, 1, 5, tzinfo=UTC)
    body = json.loads(build_chat_request(HELLO, GPT, now=midnight).body)
    assert body["current_date"] == "2026-01-05T00:00:00.000000Z"


def test_current_date_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    body = json.loads(build_chat_request(HELLO, GPT).body)
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["current_date"])
    sent = datetime.strptime(body["current_date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= sent <= after + timedelta(seconds=1)


# --- system messages ----------------------------------------------------------------------------


SYSTEM_CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "hi"},
    {"role": "developer", "content": "Answer in French."},
    {"role": "assistant", "content": "Salut"},
    {"role": "system", "content": ""},
]


def test_system_messages_go_to_additional_instructions_by_default() -> None:
    body = body_of(SYSTEM_CHAT)
    assert body["system_instruction"] == "markdown"
    assert body["additional_system_instructions"] == "Be brief.\n\nAnswer in French."
    assert [m["author"] for m in body["messages"]] == ["user", "assistant"]


def test_system_strategy_additional_is_the_default() -> None:
    thread = new_id()
    explicit = body_of(SYSTEM_CHAT, system_strategy="additional", thread_id=thread)
    default = body_of(SYSTEM_CHAT, thread_id=thread)
    assert explicit.pop("message_id") != default.pop("message_id")
    assert explicit == default


def test_system_strategy_instruction() -> None:
    body = body_of(SYSTEM_CHAT, system_strategy="instruction")
    assert body["system_instruction"] == "Be brief."
    assert body["additional_system_instructions"] == "Answer in French."
    assert [m["author"] for m in body["messages"]] == ["user", "assistant"]


def test_system_strategy_instruction_without_system_messages_keeps_markdown() -> None:
    body = body_of(HELLO, system_strategy="instruction")
    assert body["system_instruction"] == "markdown"
    assert body["additional_system_instructions"] == ""


def test_system_strategy_message() -> None:
    body = body_of(SYSTEM_CHAT, system_strategy="message")
    assert body["system_instruction"] == "markdown"
    assert body["additional_system_instructions"] == ""
    assert body["messages"] == [
        {"author": "system", "content": {"text": "Be brief."}},
        {"author": "user", "content": {"text": "hi"}},
        {"author": "system", "content": {"text": "Answer in French."}},
        {"author": "assistant", "content": {"text": "Salut"}},
        {"author": "system", "content": {"text": ""}},
    ]


def test_unknown_system_strategy() -> None:
    with pytest.raises(InvalidRequestError, match=r"Unknown system strategy 'nope'.*additional"):
        build(HELLO, system_strategy="nope")


def test_only_system_messages_is_an_error() -> None:
    with pytest.raises(InvalidRequestError, match="no user or assistant message"):
        build([{"role": "system", "content": "x"}])


def test_no_messages_is_an_error() -> None:
    with pytest.raises(InvalidRequestError, match="no messages"):
        build([])


# --- user and assistant -------------------------------------------------------------------------


def test_user_and_assistant_in_order() -> None:
    # The conversation of the 2024 app fixture (reference 7.3).
    messages = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hello! I'm Gemini, a chatbot. How can I help you today?"},
        {"role": "user", "content": "I need help with something"},
    ]
    assert body_of(messages)["messages"] == [
        {"author": "user", "content": {"text": "hello"}},
        {
            "author": "assistant",
            "content": {"text": "Hello! I'm Gemini, a chatbot. How can I help you today?"},
        },
        {"author": "user", "content": {"text": "I need help with something"}},
    ]


def test_null_content_is_empty_text() -> None:
    body = body_of([{"role": "user", "content": "q"}, {"role": "assistant", "content": None}])
    assert body["messages"][1] == {"author": "assistant", "content": {"text": ""}}


def test_missing_content_is_empty_text() -> None:
    assert body_of([{"role": "user"}])["messages"] == [{"author": "user", "content": {"text": ""}}]


def test_multi_part_text_content_is_joined() -> None:
    content = [
        {"type": "text", "text": "first"},
        "second",
        {"type": "input_text", "text": "third"},
        {"type": "output_text", "text": "fourth"},
    ]
    body = body_of([{"role": "user", "content": content}])
    assert body["messages"][0]["content"]["text"] == "first\nsecond\nthird\nfourth"


def test_empty_parts_list_is_empty_text() -> None:
    assert body_of([{"role": "user", "content": []}])["messages"][0]["content"]["text"] == ""


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "f"}},
    ],
)
def test_non_text_parts_are_refused_clearly(part: dict[str, Any]) -> None:
    content = [{"type": "text", "text": "what is this?"}, part]
    with pytest.raises(InvalidRequestError) as info:
        build([{"role": "user", "content": content}])
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert f"'{part['type']}' content part" in message
    assert "user message" in message
    assert "sends text parts" in message


def test_text_part_without_text_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        build([{"role": "user", "content": [{"type": "text"}]}])


def test_part_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="'int' content part"):
        build([{"role": "user", "content": [3]}])


@pytest.mark.parametrize("content", [{"text": "x"}, 42, b"bytes"])
def test_content_of_the_wrong_type_is_refused(content: object) -> None:
    with pytest.raises(InvalidRequestError, match="user message has content of type"):
        build([{"role": "user", "content": content}])


def test_content_text_helper() -> None:
    assert content_text(None, "user") == ""
    assert content_text("x", "user") == "x"
    assert content_text([{"type": "text", "text": "a"}, "b"], "user") == "a\nb"


def test_unknown_role_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="Unknown message role 'robot'"):
        build([{"role": "robot", "content": "x"}])


def test_missing_role_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="Unknown message role None"):
        build([{"content": "x"}])


def test_message_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="must be an object"):
        build(["hello"])  # type: ignore[list-item]


# --- tool calls and results ---------------------------------------------------------------------


def tool_chat(arguments: object) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Where am I?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "53681b26-50c2-44ab-925f-ec92f78e2e62",
                    "type": "function",
                    "function": {"name": "location-get-current-location", "arguments": arguments},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "53681b26-50c2-44ab-925f-ec92f78e2e62",
            "content": '{"street":"新金桥路","latitude":31.245287128171167}',
        },
    ]


def test_assistant_tool_call_arguments_are_parsed_into_an_object() -> None:
    body = body_of(tool_chat('{"precise": true, "n": 2}'))
    assert body["messages"][1] == {
        "author": "assistant",
        "content": {"text": ""},
        "tool_calls": [
            {
                "function": {
                    "arguments": {"precise": True, "n": 2},
                    "name": "location-get-current-location",
                },
                "id": "53681b26-50c2-44ab-925f-ec92f78e2e62",
                "type": "function",
            }
        ],
    }


def test_object_arguments_are_kept() -> None:
    body = body_of(tool_chat({"precise": True}))
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"precise": True}


@pytest.mark.parametrize("arguments", ["", None])
def test_empty_arguments_become_empty_object(arguments: object) -> None:
    body = body_of(tool_chat(arguments))
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == {}


def test_unparsable_arguments_are_sent_as_the_string() -> None:
    body = body_of(tool_chat('{"broken": '))
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"broken": '


def test_tool_result_gets_name_from_the_preceding_call() -> None:
    # The converted message of reference 7.2.
    body = body_of(tool_chat("{}"))
    assert body["messages"][2] == {
        "author": "tool",
        "content": {"text": '{"street":"新金桥路","latitude":31.245287128171167}'},
        "name": "location-get-current-location",
        "tool_call_id": "53681b26-50c2-44ab-925f-ec92f78e2e62",
    }


def test_several_tool_calls_and_results_match_by_id() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "one", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "two", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "b", "content": "2"},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "tool", "tool_call_id": "zzz", "content": "?"},
        {"role": "tool", "tool_call_id": "a", "name": "explicit", "content": "1"},
    ]
    body = body_of(messages)
    assert body["messages"][1]["content"] == {"text": "Let me check."}
    assert [c["id"] for c in body["messages"][1]["tool_calls"]] == ["a", "b"]
    assert [(m["name"], m["tool_call_id"], m["content"]["text"]) for m in body["messages"][2:]] == [
        ("two", "b", "2"),
        ("one", "a", "1"),
        ("", "zzz", "?"),
        ("explicit", "a", "1"),
    ]


def test_legacy_function_role_is_a_tool_result() -> None:
    body = body_of(
        [{"role": "user", "content": "x"}, {"role": "function", "name": "f", "content": "r"}]
    )
    assert body["messages"][1] == {
        "author": "tool",
        "content": {"text": "r"},
        "name": "f",
        "tool_call_id": "",
    }


@pytest.mark.parametrize(
    "call",
    [
        {"id": "a", "type": "function"},
        {"id": "a", "type": "function", "function": {"arguments": "{}"}},
        {"id": "a", "type": "function", "function": "not-an-object"},
        "not-an-object",
    ],
)
def test_malformed_assistant_tool_call_is_refused(call: object) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [call]},
    ]
    with pytest.raises(InvalidRequestError, match="tool call needs"):
        build(messages)


def test_assistant_without_tool_calls_has_no_key() -> None:
    body = body_of([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}])
    assert "tool_calls" not in body["messages"][1]


# --- temperature and reasoning effort -----------------------------------------------------------


def test_temperature_is_sent_when_supported() -> None:
    assert body_of(HELLO, temperature=0.5)["temperature"] == 0.5
    assert body_of(HELLO, temperature=0)["temperature"] == 0


def test_temperature_omitted_when_not_given() -> None:
    assert "temperature" not in body_of(HELLO)


def test_temperature_omitted_when_the_model_does_not_support_it() -> None:
    body, _ = build(HELLO, model=O3, temperature=0.7)
    assert "temperature" not in body


def test_reasoning_effort_defaults_to_the_model_default() -> None:
    assert build(HELLO, model=GEMINI)[0]["reasoning_effort"] == "minimal"
    assert build(HELLO, model=OPUS)[0]["reasoning_effort"] == "none"


def test_reasoning_effort_explicit() -> None:
    assert build(HELLO, model=OPUS, reasoning_effort="xhigh")[0]["reasoning_effort"] == "xhigh"


def test_reasoning_effort_invalid_lists_the_options() -> None:
    with pytest.raises(InvalidRequestError) as info:
        build(HELLO, model=GEMINI, reasoning_effort="xhigh")
    message = str(info.value)
    assert "google-gemini-3.5-flash" in message
    assert "minimal, low, medium, high" in message
    assert "'xhigh'" in message


def test_reasoning_effort_omitted_for_models_without_it() -> None:
    assert "reasoning_effort" not in body_of(HELLO)
    assert "reasoning_effort" not in body_of(HELLO, reasoning_effort="high")


def test_reasoning_effort_omitted_when_unsupported_or_default_unknown() -> None:
    unsupported = ModelEntry(
        "x", "x", "p", abilities={"reasoning_effort": {"supported": False, "options": ["low"]}}
    )
    no_default = ModelEntry("y", "y", "p", abilities={"reasoning_effort": {"options": ["low"]}})
    assert "reasoning_effort" not in build(HELLO, model=unsupported)[0]
    assert "reasoning_effort" not in build(HELLO, model=no_default)[0]
    assert build(HELLO, model=no_default, reasoning_effort="low")[0]["reasoning_effort"] == "low"


# --- tools and tool_choice ----------------------------------------------------------------------


def test_function_tools_become_local_tools() -> None:
    body, request = build(HELLO, tools=[WEATHER, CLOCK])
    assert body["tools"] == [
        {
            "function": {
                "description": "Gets weather for a specific location.",
                "name": "weather-get-weather",
                "parameters": WEATHER["function"]["parameters"],
            },
            "type": "local_tool",
        },
        {
            "function": {"name": "clock-now", "parameters": {"type": "object", "properties": {}}},
            "type": "local_tool",
        },
    ]
    assert body["tool_choice"] == "auto"
    assert request.local_tools == frozenset({"weather-get-weather", "clock-now"})


def test_local_tool_input_is_accepted_as_is() -> None:
    local = {"type": "local_tool", "function": {"name": "a-b", "parameters": {"type": "object"}}}
    body = body_of(HELLO, tools=[local])
    assert body["tools"] == [
        {"function": {"name": "a-b", "parameters": {"type": "object"}}, "type": "local_tool"}
    ]


def test_remote_tools_pass_through_and_are_not_local() -> None:
    body, request = build(HELLO, tools=[{"type": "remote_tool", "name": "web_search"}, CLOCK])
    assert body["tools"][0] == {"name": "web_search", "type": "remote_tool"}
    assert request.local_tools == frozenset({"clock-now"})


def test_no_tools_means_no_tool_choice() -> None:
    body, request = build(HELLO)
    assert body["tools"] == []
    assert "tool_choice" not in body
    assert request.local_tools == frozenset()


@pytest.mark.parametrize(
    ("choice", "sent"), [(None, "auto"), ("auto", "auto"), ("required", "required")]
)
def test_tool_choice_strings(choice: str | None, sent: str) -> None:
    body = body_of(HELLO, tools=[WEATHER], tool_choice=choice)
    assert body["tool_choice"] == sent
    assert len(body["tools"]) == 1


def test_tool_choice_none_sends_no_tools() -> None:
    body, request = build(HELLO, tools=[WEATHER, CLOCK], tool_choice="none")
    assert body["tools"] == []
    assert "tool_choice" not in body
    assert request.local_tools == frozenset()


def test_forced_function_offers_only_that_tool_and_requires_it() -> None:
    choice = {"type": "function", "function": {"name": "clock-now"}}
    body, request = build(HELLO, tools=[WEATHER, CLOCK], tool_choice=choice)
    assert [t["function"]["name"] for t in body["tools"]] == ["clock-now"]
    assert body["tool_choice"] == "required"
    assert request.local_tools == frozenset({"clock-now"})


def test_forced_function_that_is_not_offered() -> None:
    choice = {"type": "function", "function": {"name": "missing"}}
    with pytest.raises(InvalidRequestError, match="not offered: 'missing'"):
        build(HELLO, tools=[WEATHER], tool_choice=choice)


def test_unsupported_tool_choice() -> None:
    with pytest.raises(InvalidRequestError, match="Unsupported tool_choice 'sometimes'"):
        build(HELLO, tools=[WEATHER], tool_choice="sometimes")


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "code_interpreter"},
        {"type": "function"},
        {"type": "function", "function": "x"},
        {"type": "remote_tool"},
    ],
)
def test_unsupported_tools_are_refused(tool: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match="Unsupported tool type"):
        build(HELLO, tools=[tool])


def test_function_tool_without_name_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="needs a name"):
        build(HELLO, tools=[{"type": "function", "function": {"description": "d"}}])


# --- headers ------------------------------------------------------------------------------------


def test_base_headers_with_and_without_token() -> None:
    with_token = base_headers("tok")
    assert with_token["Authorization"] == "Bearer tok"
    assert with_token["User-Agent"] == USER_AGENT
    assert with_token["Content-Type"] == "application/json"
    assert with_token["Accept"] == "application/json"
    assert with_token["X-Raycast-Experimental"] == "autoModels, chatBranching, mcpHTTPServer"
    for token in (None, ""):
        assert "Authorization" not in base_headers(token)


def test_user_agent_is_the_apps_format() -> None:
    assert re.fullmatch(r"Raycast/[\d.]+ \(macOS Version [\d.]+ \(Build \w+\)\)", USER_AGENT)
    assert base_headers(None, "UA/1")["User-Agent"] == "UA/1"


def test_chat_headers_signed() -> None:
    body = b'{"a":1}'
    headers = chat_headers(body, token="tok", secret="s", device_id=DEVICE, timestamp=1700000000)
    assert headers["Authorization"] == "Bearer tok"
    assert headers["X-Raycast-Timestamp"] == "1700000000"
    assert headers["X-Raycast-DeviceId"] == DEVICE
    assert headers["X-Raycast-Signature-v2"] == signature_v2("s", "1700000000", DEVICE, body)
    assert headers["Content-Type"] == "application/json"


def test_chat_headers_without_token_or_secret() -> None:
    headers = chat_headers(b"{}", token=None, secret=None, device_id=DEVICE, timestamp=5)
    assert "Authorization" not in headers
    assert "X-Raycast-Signature-v2" not in headers
    assert headers["X-Raycast-DeviceId"] == DEVICE
    assert headers["X-Raycast-Timestamp"] == "5"


def test_chat_headers_custom_user_agent() -> None:
    headers = chat_headers(
        b"{}", token=None, secret=None, device_id=DEVICE, timestamp=5, user_agent="me/1"
    )
    assert headers["User-Agent"] == "me/1"


def test_models_headers_signed_over_empty_object() -> None:
    headers = models_headers(
        token="tok", secret="abcXYZ09", device_id="test-device-id", timestamp=1780430483
    )
    assert headers["X-Raycast-Signature-v2"] == (
        "8e76d1d6139baf5fa6729ca0fcfb31c0f3b67db178af85a0ca60d2c80f942ee1"
    )
    assert headers["Authorization"] == "Bearer tok"
    assert "Content-Type" not in headers


def test_models_headers_without_token_or_secret() -> None:
    headers = models_headers(token=None, secret=None, device_id=DEVICE, timestamp=1)
    assert "Authorization" not in headers
    assert "X-Raycast-Signature-v2" not in headers
    assert headers["X-Raycast-DeviceId"] == DEVICE


# --- properties ---------------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8"), max_size=30)
chat_messages = st.lists(
    st.tuples(st.sampled_from(["system", "user", "assistant", "developer"]), texts),
    min_size=1,
    max_size=8,
).filter(lambda ms: any(role in ("user", "assistant") for role, _ in ms))


@settings(max_examples=100, deadline=None)
@given(messages=chat_messages, strategy=st.sampled_from(["additional", "instruction", "message"]))
def test_conversion_keeps_every_text_in_order(
    messages: list[tuple[str, str]], strategy: str
) -> None:
    openai = [{"role": role, "content": text} for role, text in messages]
    body, request = build(openai, system_strategy=strategy)
    conversation = [(r, t) for r, t in messages if r in ("user", "assistant")]
    systems = [t for r, t in messages if r in ("system", "developer")]
    if strategy == "message":
        conversation = [("system" if r == "developer" else r, t) for r, t in messages]
    assert [(m["author"], m["content"]["text"]) for m in body["messages"]] == conversation
    if strategy == "additional":
        assert body["additional_system_instructions"] == "\n\n".join(t for t in systems if t)
    assert request.body == encode_json(body)
    signature = signature_v2("k", "1", DEVICE, request.body)
    assert verify_v2("k", "1", DEVICE, request.body, signature)


@settings(max_examples=100, deadline=None)
@given(
    messages=st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant", "tool", "system", "other"])},
            optional={
                "content": st.one_of(
                    st.none(),
                    texts,
                    st.lists(
                        st.one_of(
                            texts,
                            st.fixed_dictionaries(
                                {"type": st.sampled_from(["text", "image_url"]), "text": texts}
                            ),
                        ),
                        max_size=3,
                    ),
                ),
                "tool_call_id": texts,
            },
        ),
        max_size=5,
    )
)
def test_any_message_list_builds_or_fails_cleanly(messages: list[dict[str, Any]]) -> None:
    # Either a body with messages, or InvalidRequestError (a ValueError) with a message.
    try:
        body, _ = build(messages)
    except InvalidRequestError as error:
        message = error.message
    else:
        message = "built"
        assert body["messages"]
    assert message
