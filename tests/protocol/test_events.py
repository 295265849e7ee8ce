from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.errors import (
    APIStatusError,
    AuthenticationError,
    IncompleteStreamError,
    RateLimitError,
    RaycastError,
    StreamDecodeError,
    UpstreamError,
)
from raycast_ai.protocol.events import (
    ChunkInterpreter,
    Citation,
    Event,
    Finish,
    ImageLink,
    Notice,
    ReasoningDelta,
    StreamParser,
    TextDelta,
    ToolCallDelta,
    Usage,
    normalize_finish_reason,
)

UNSIGNED_LINE = (
    b'data: {"error":{"message":"Something went wrong; please try again in a few minutes."}}\n\n'
)


def feed(*chunks: Mapping[str, Any], signed: bool = True) -> list[Event]:
    interpreter = ChunkInterpreter(signed=signed)
    events: list[Event] = []
    for chunk in chunks:
        events.extend(interpreter.feed(chunk))
    return events


def sse(*chunks: str | Mapping[str, Any]) -> bytes:
    lines = (c if isinstance(c, str) else json.dumps(c, ensure_ascii=False) for c in chunks)
    return b"".join(f"data: {line}\n\n".encode() for line in lines)


def parse(data: bytes, **kwargs: Any) -> list[Event]:
    parser = StreamParser(**kwargs)
    events = parser.feed(data)
    parser.end()
    return events


def tool_calls(events: Iterable[Event]) -> list[tuple[str, str, str]]:
    """Accumulates ToolCallDelta events the way a client would: [(id, name, arguments)]."""
    calls: list[list[str]] = []
    for event in events:
        if isinstance(event, ToolCallDelta):
            if event.index == len(calls):
                calls.append([event.id, event.name, ""])
            calls[event.index][2] += event.arguments
    return [(i, n, a) for i, n, a in calls]


# --- 7.1 the unsigned-request error -------------------------------------------------------------


def test_unsigned_error_without_a_secret_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        parse(UNSIGNED_LINE, signed=False)
    error = info.value
    assert "RAYCAST_SIGNING_SECRET" in error.message
    assert "Something went wrong; please try again in a few minutes." in error.message
    assert error.status_code == 401
    assert error.type == "signature_required"


def test_signature_refusal_with_a_secret_says_to_check_it() -> None:
    with pytest.raises(UpstreamError) as info:
        parse(UNSIGNED_LINE, signed=True)
    assert not isinstance(info.value, AuthenticationError)
    assert info.value.message.startswith("Something went wrong; please try again in a few minutes.")
    assert "check the signing secret" in info.value.message
    assert info.value.status_code is None


def test_interpreter_is_signed_by_default() -> None:
    with pytest.raises(UpstreamError):
        feed({"error": {"message": "Something went wrong; please try again in a few minutes."}})


def test_other_errors_of_an_unsigned_request_are_not_blamed_on_the_signature() -> None:
    with pytest.raises(UpstreamError) as info:
        feed({"error": {"message": "Model overloaded"}}, signed=False)
    assert not isinstance(info.value, AuthenticationError)


# --- 7.2 upstream chunks ------------------------------------------------------------------------

PROVIDER_STATUS = {
    "notification_type": "provider_status",
    "notification": "",
    "status": "operational",
    "status_page_url": "https://status.claude.com",
    "text": "",
}
PING = {"notification": "", "notification_type": "ping", "text": ""}


def test_provider_status_notice() -> None:
    assert feed(PROVIDER_STATUS) == [Notice("provider_status", "operational")]


def test_ping_notice() -> None:
    assert feed(PING) == [Notice("ping", "")]


def test_text_chunks() -> None:
    interpreter = ChunkInterpreter()
    assert interpreter.feed({"text": "今"}) == [TextDelta("今")]
    assert interpreter.feed({"text": "天是2026年6月2日。"}) == [TextDelta("天是2026年6月2日。")]
    assert interpreter.partial_text == "今天是2026年6月2日。"
    assert not interpreter.finished


def test_empty_text_chunk_gives_nothing() -> None:
    assert feed({"text": ""}) == []


def test_finish_with_usage() -> None:
    interpreter = ChunkInterpreter()
    events = interpreter.feed(
        {"text": "", "finish_reason": "stop", "usage": {"input_tokens": 2, "output_tokens": 13}}
    )
    assert events == [Usage(2, 13), Finish("stop")]
    assert interpreter.finished
    interpreter.end()


def test_gemini_upper_case_stop() -> None:
    events = feed({"finish_reason": "STOP", "usage": {"input_tokens": 1413, "output_tokens": 14}})
    assert events == [Usage(1413, 14), Finish("stop")]


def test_max_tokens_is_length() -> None:
    assert feed({"text": "", "finish_reason": "MAX_TOKENS"}) == [Finish("length")]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("stop", "stop"),
        ("STOP", "stop"),
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("MAX_TOKENS", "length"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("SAFETY", "safety"),
        ("content_filter", "content_filter"),
    ],
)
def test_normalize_finish_reason(raw: str, normal: str) -> None:
    assert normalize_finish_reason(raw) == normal


def test_reasoning_and_text() -> None:
    events = feed({"reasoning": "The user is asking", "text": "今天是 2026 年 6 月 2 日。"})
    assert events == [ReasoningDelta("The user is asking"), TextDelta("今天是 2026 年 6 月 2 日。")]


def test_reasoning_is_not_part_of_the_text() -> None:
    interpreter = ChunkInterpreter()
    interpreter.feed({"reasoning": "thinking", "text": ""})
    assert interpreter.partial_text == ""


def test_gemini_flat_summary_without_deltas() -> None:
    chunk = {
        "finish_reason": "tool_calls",
        "text": "",
        "tool_calls": [
            {"id": "f2b10fe1", "name": "location-get-current-location", "arguments": "{}"}
        ],
    }
    events = feed(chunk)
    assert events == [
        ToolCallDelta(0, "f2b10fe1", "location-get-current-location", "{}"),
        Finish("tool_calls"),
    ]


ANTHROPIC_START = {
    "tool_calls": [
        {"id": "toolu_123", "index": 0, "function": {"name": "exec_command", "arguments": ""}}
    ]
}
ANTHROPIC_DELTA = {
    "tool_calls": [{"id": "", "index": 0, "function": {"name": "", "arguments": '{"cmd":"c'}}]
}
ANTHROPIC_SUMMARY = {
    "finish_reason": "tool_calls",
    "tool_calls": [
        {
            "id": "toolu_123",
            "index": 0,
            "function": {"name": "exec_command", "arguments": '{"cmd":"cat 111.txt"}'},
        }
    ],
}


def test_anthropic_tool_call_deltas_and_summary() -> None:
    events = feed(ANTHROPIC_START, ANTHROPIC_DELTA, ANTHROPIC_SUMMARY)
    assert events == [
        ToolCallDelta(0, "toolu_123", "exec_command", ""),
        ToolCallDelta(0, "", "", '{"cmd":"c'),
        ToolCallDelta(0, "", "", 'at 111.txt"}'),
        Finish("tool_calls"),
    ]
    assert tool_calls(events) == [("toolu_123", "exec_command", '{"cmd":"cat 111.txt"}')]


def test_summary_after_complete_deltas_adds_nothing() -> None:
    complete = {"tool_calls": [{"index": 0, "function": {"arguments": '{"cmd":"cat 111.txt"}'}}]}
    events = feed(ANTHROPIC_START, complete, ANTHROPIC_SUMMARY)
    assert tool_calls(events) == [("toolu_123", "exec_command", '{"cmd":"cat 111.txt"}')]
    assert events[-2:] == [ToolCallDelta(0, "", "", '{"cmd":"cat 111.txt"}'), Finish("tool_calls")]


def test_anthropic_variant_with_index_2_in_deltas_and_3_in_summary() -> None:
    def at(chunk: Mapping[str, Any], index: int) -> dict[str, Any]:
        return {**chunk, "tool_calls": [{**chunk["tool_calls"][0], "index": index}]}

    events = feed(at(ANTHROPIC_START, 2), at(ANTHROPIC_DELTA, 2), at(ANTHROPIC_SUMMARY, 3))
    assert {e.index for e in events if isinstance(e, ToolCallDelta)} == {0}
    assert tool_calls(events) == [("toolu_123", "exec_command", '{"cmd":"cat 111.txt"}')]
    assert events[-1] == Finish("tool_calls")


def test_context_error() -> None:
    chunk = {
        "error": {
            "message": "The message was too long (125%). Submit something shorter",
            "type": "context_error",
        }
    }
    with pytest.raises(UpstreamError) as info:
        feed(chunk)
    assert info.value.type == "context_error"
    assert info.value.status_code == 400
    assert info.value.message == "The message was too long (125%). Submit something shorter"


def test_whole_72_stream_through_the_parser() -> None:
    data = sse(
        PROVIDER_STATUS,
        PING,
        {"text": "今"},
        {"text": "天是2026年6月2日。"},
        {"text": "", "finish_reason": "stop", "usage": {"input_tokens": 2, "output_tokens": 13}},
    )
    parser = StreamParser()
    events = [e for i in range(len(data)) for e in parser.feed(data[i : i + 1])]
    parser.end()
    assert events == [
        Notice("provider_status", "operational"),
        Notice("ping", ""),
        TextDelta("今"),
        TextDelta("天是2026年6月2日。"),
        Usage(2, 13),
        Finish("stop"),
    ]
    assert parser.partial_text == "今天是2026年6月2日。"


# --- 7.3, 7.4, 7.7 ------------------------------------------------------------------------------


def test_73_mock_stream() -> None:
    data = (
        b'data: {"text": "Hello, how can I help you?"}\n\n'
        b'data: {"text": "", "finish_reason": "stop"}\n\n'
    )
    assert parse(data) == [TextDelta("Hello, how can I help you?"), Finish("stop")]


def test_74_emulator_tool_call_stream() -> None:
    data = sse(
        {
            "text": "",
            "finish_reason": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather-get-weather", "arguments": ""},
                }
            ],
        },
        {
            "text": "",
            "finish_reason": None,
            "tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}],
        },
        {
            "text": "",
            "finish_reason": None,
            "tool_calls": [{"index": 0, "function": {"arguments": ' "Paris"}'}}],
        },
        {
            "finish_reason": "tool_calls",
            "text": "",
            "tool_calls": [
                {
                    "name": "weather-get-weather",
                    "arguments": '{"location": "Paris"}',
                    "id": "call_1",
                }
            ],
        },
    )
    events = parse(data)
    assert tool_calls(events) == [("call_1", "weather-get-weather", '{"location": "Paris"}')]
    assert events[-1] == Finish("tool_calls")
    assert not any(isinstance(e, TextDelta) for e in events)


def test_74_emulator_error_chunk() -> None:
    parser = StreamParser()
    parser.feed(sse({"text": "Partial ", "finish_reason": None}))
    with pytest.raises(UpstreamError) as info:
        parser.feed(sse({"text": "The model is overloaded", "finish_reason": "error"}))
    assert info.value.message == "The model is overloaded"
    assert info.value.partial_text == "Partial "


def test_error_finish_without_text() -> None:
    with pytest.raises(UpstreamError, match="Raycast reported an error"):
        feed({"text": "", "finish_reason": "error"})


def test_77_fake_server_stream() -> None:
    data = (
        b'data: {"text":"answer","finish_reason":null}\n\n'
        b'data: {"text":"","finish_reason":"length"}\n\n'
    )
    assert parse(data) == [TextDelta("answer"), Finish("length")]


# --- notices ------------------------------------------------------------------------------------


def test_model_updated_notice() -> None:
    chunk = {
        "notification_type": "model_updated",
        "notification": "Rerouted to GPT-5 mini",
        "text": "",
    }
    assert feed(chunk) == [Notice("model_updated", "Rerouted to GPT-5 mini")]


def test_model_updated_notice_in_content() -> None:
    chunk = {
        "notification_type": "model_updated",
        "content": {"notification": "Rerouted"},
        "text": "",
    }
    assert feed(chunk) == [Notice("model_updated", "Rerouted")]


def test_tool_used_notice() -> None:
    chunk = {"notification_type": "tool_used", "notification": "Searching in Google...", "text": ""}
    assert feed(chunk) == [Notice("tool_used", "Searching in Google...")]


def test_notice_does_not_finish_the_stream() -> None:
    interpreter = ChunkInterpreter()
    interpreter.feed(PING)
    with pytest.raises(IncompleteStreamError):
        interpreter.end()


# --- errors -------------------------------------------------------------------------------------


def test_credits_error_is_a_rate_limit() -> None:
    chunk = {"error": {"message": "You have used all your free credits", "type": "credits_error"}}
    with pytest.raises(RateLimitError) as info:
        feed(chunk)
    assert info.value.type == "credits_error"
    assert info.value.status_code == 429
    assert "You have used all your free credits" in info.value.message
    assert "credits" in info.value.message.lower()


def test_credits_error_without_a_secret_is_still_a_rate_limit() -> None:
    with pytest.raises(RateLimitError):
        feed({"error": {"message": "No credits", "type": "credits_error"}}, signed=False)


def test_unknown_api_error_hints_at_the_signature() -> None:
    with pytest.raises(UpstreamError) as info:
        feed({"error": {"message": "Unknown error", "type": "unknown_api_error"}})
    assert info.value.type == "unknown_api_error"
    assert "X-Raycast-Signature-v2" in info.value.message
    assert info.value.message.startswith("Unknown error")


def test_error_as_a_plain_string() -> None:
    with pytest.raises(UpstreamError) as info:
        feed({"error": "secret"})
    assert info.value.message == "secret"
    assert info.value.type is None


def test_error_with_user_message() -> None:
    with pytest.raises(UpstreamError, match="Try later"):
        feed({"error": {"userMessage": "Try later"}})


def test_error_without_a_message() -> None:
    with pytest.raises(UpstreamError, match="without a message") as info:
        feed({"error": {"type": "weird"}})
    assert info.value.type == "weird"


def test_error_keeps_the_text_so_far() -> None:
    interpreter = ChunkInterpreter()
    interpreter.feed({"text": "Half an "})
    interpreter.feed({"text": "answer"})
    with pytest.raises(UpstreamError) as info:
        interpreter.feed({"error": {"message": "boom"}})
    assert info.value.partial_text == "Half an answer"


@pytest.mark.parametrize("empty", [None, "", {}, []])
def test_empty_error_key_is_not_an_error(empty: object) -> None:
    assert feed({"text": "ok", "error": empty}) == [TextDelta("ok")]


# --- the stream parser --------------------------------------------------------------------------


def test_end_without_finish_is_incomplete_and_keeps_the_text() -> None:
    parser = StreamParser()
    assert parser.feed(sse({"text": "Hello, "}, {"text": "wor"})) == [
        TextDelta("Hello, "),
        TextDelta("wor"),
    ]
    with pytest.raises(IncompleteStreamError) as info:
        parser.end()
    assert info.value.partial_text == "Hello, wor"
    assert "10 characters" in info.value.message
    assert "Retry" in info.value.message
    assert isinstance(info.value, RaycastError)


def test_end_of_an_empty_stream_is_incomplete() -> None:
    with pytest.raises(IncompleteStreamError) as info:
        StreamParser().end()
    assert info.value.partial_text == ""


def test_unterminated_final_chunk_is_not_a_finish() -> None:
    parser = StreamParser()
    parser.feed(b'data: {"text":"a"}\n\ndata: {"text":"","finish_reason":"stop"}')
    with pytest.raises(IncompleteStreamError):
        parser.end()


def test_malformed_json_line() -> None:
    parser = StreamParser()
    parser.feed(sse({"text": "so far"}))
    with pytest.raises(StreamDecodeError, match="not JSON") as info:
        parser.feed(b'data: {"text": "oops\n\n')
    assert '{"text": "oops' in info.value.message
    assert info.value.partial_text == "so far"
    assert isinstance(info.value, UpstreamError)


def test_long_malformed_line_is_quoted_briefly() -> None:
    with pytest.raises(StreamDecodeError) as info:
        StreamParser().feed(b"data: " + b"x" * 5000 + b"\n\n")
    assert len(info.value.message) < 200


@pytest.mark.parametrize("payload", ["[1, 2]", "42", '"text"', "null", "true"])
def test_non_object_json(payload: str) -> None:
    with pytest.raises(StreamDecodeError, match="not a JSON object"):
        StreamParser().feed(sse(payload))


@pytest.mark.parametrize("payload", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_not_json_objects(payload: str) -> None:
    with pytest.raises(StreamDecodeError):
        StreamParser().feed(sse(payload))


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e999", "1" + "0" * 400])
def test_non_finite_usage_does_not_crash(number: str) -> None:
    data = sse(
        f'{{"text":"","finish_reason":"stop","usage":{{"input_tokens":{number},"output_tokens":3}}}}'
    )
    events = parse(data)
    assert events[-1] == Finish("stop")
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.output_tokens == 3


def test_deeply_nested_json_is_a_decode_error() -> None:
    with pytest.raises(StreamDecodeError):
        StreamParser().feed(b"data: " + b"[" * 100_000 + b"\n\n")


def test_done_marker_is_ignored() -> None:
    data = sse({"text": "hi"}, {"text": "", "finish_reason": "stop"}, "[DONE]")
    assert parse(data) == [TextDelta("hi"), Finish("stop")]


def test_comments_and_blank_events_are_ignored() -> None:
    data = b": keep-alive\n\n" + sse({"text": "hi", "finish_reason": "stop"}) + b": bye\n\n"
    assert parse(data) == [TextDelta("hi"), Finish("stop")]


def test_crlf_stream() -> None:
    data = sse({"text": "a"}, {"text": "", "finish_reason": "stop"}).replace(b"\n", b"\r\n")
    assert parse(data) == [TextDelta("a"), Finish("stop")]


def test_event_error_wraps_a_bare_object() -> None:
    with pytest.raises(UpstreamError, match="boom"):
        StreamParser().feed(b'event: error\ndata: {"message":"boom"}\n\n')


def test_event_error_with_error_key() -> None:
    with pytest.raises(RateLimitError):
        StreamParser().feed(
            b'event: error\ndata: {"error":{"message":"x","type":"credits_error"}}\n\n'
        )


def test_event_error_bare_object_keeps_its_type() -> None:
    with pytest.raises(UpstreamError) as info:
        StreamParser().feed(
            b'event: error\ndata: {"message":"too long","type":"context_error"}\n\n'
        )
    assert info.value.status_code == 400


def test_other_event_names_are_read_as_chunks() -> None:
    data = (
        b'event: message\ndata: {"text":"a"}\n\n'
        b'event: delta\ndata: {"text":"b","finish_reason":"stop"}\n\n'
    )
    assert parse(data) == [TextDelta("a"), TextDelta("b"), Finish("stop")]


def test_parser_max_event_size() -> None:
    parser = StreamParser(max_event_size=64)
    with pytest.raises(StreamDecodeError, match="exceeded 64 bytes"):
        parser.feed(sse({"text": "x" * 100}))


def test_parser_passes_signed_and_local_tools() -> None:
    with pytest.raises(AuthenticationError):
        StreamParser(signed=False).feed(UNSIGNED_LINE)
    chunk = {
        "finish_reason": "tool_calls",
        "tool_calls": [{"id": "1", "name": "web_search", "arguments": "{}"}],
    }
    events = parse(sse(chunk), local_tools=frozenset({"mine"}))
    # Raycast ran its own tool: no call is left for the client, so the answer just stopped.
    assert events == [Notice("tool_used", "web_search"), Finish("stop")]


# --- tool calls ---------------------------------------------------------------------------------


def start(call_id: str, name: str, index: int) -> dict[str, Any]:
    return {
        "tool_calls": [
            {
                "id": call_id,
                "index": index,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ]
    }


def delta(arguments: str, index: int | None = None, call_id: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"function": {"arguments": arguments}}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call["id"] = call_id
    return {"tool_calls": [call]}


def test_two_calls_interleaved_by_id_get_indexes_0_and_1() -> None:
    events = feed(
        start("call_a", "one", 0),
        start("call_b", "two", 1),
        delta('{"x":', call_id="call_a"),
        delta('{"y":', call_id="call_b"),
        delta("1}", call_id="call_a"),
        delta("2}", call_id="call_b"),
        {"finish_reason": "tool_calls", "text": ""},
    )
    indexes = [(e.index, e.arguments) for e in events if isinstance(e, ToolCallDelta)]
    assert indexes == [(0, ""), (1, ""), (0, '{"x":'), (1, '{"y":'), (0, "1}"), (1, "2}")]
    assert tool_calls(events) == [("call_a", "one", '{"x":1}'), ("call_b", "two", '{"y":2}')]


def test_native_indexes_are_remapped_from_zero() -> None:
    events = feed(
        start("toolu_a", "one", 5),
        delta('{"a":1}', index=5),
        start("toolu_b", "two", 7),
        delta('{"b":2}', index=7),
        {
            "finish_reason": "tool_calls",
            "tool_calls": [
                {"id": "toolu_a", "name": "one", "arguments": '{"a":1}'},
                {"id": "toolu_b", "name": "two", "arguments": '{"b":2}'},
            ],
        },
    )
    assert {e.index for e in events if isinstance(e, ToolCallDelta)} == {0, 1}
    assert tool_calls(events) == [("toolu_a", "one", '{"a":1}'), ("toolu_b", "two", '{"b":2}')]


def test_delta_without_id_or_index_continues_the_last_call() -> None:
    events = feed(start("c1", "one", 0), delta('{"k"'), delta(":1}"))
    assert tool_calls(events) == [("c1", "one", '{"k":1}')]


def test_parallel_flat_summary_calls() -> None:
    events = feed(
        {
            "finish_reason": "tool_calls",
            "text": "",
            "tool_calls": [
                {"id": "g1", "name": "a", "arguments": "{}"},
                {"id": "g2", "name": "b", "arguments": '{"q":"x"}'},
            ],
        }
    )
    assert tool_calls(events) == [("g1", "a", "{}"), ("g2", "b", '{"q":"x"}')]


def test_summary_arguments_as_an_object() -> None:
    events = feed(
        {
            "finish_reason": "tool_calls",
            "tool_calls": [{"id": "g1", "name": "a", "arguments": {"city": "Zürich"}}],
        }
    )
    assert tool_calls(events) == [("g1", "a", '{"city": "Zürich"}')]


def test_tool_call_with_text_before_it() -> None:
    events = feed(
        {"text": "Let me look."},
        start("c", "f", 0),
        {
            "finish_reason": "tool_calls",
            "tool_calls": [{"id": "c", "name": "f", "arguments": "{}"}],
        },
    )
    assert events[0] == TextDelta("Let me look.")
    assert tool_calls(events) == [("c", "f", "{}")]


def test_remote_tool_calls_are_hidden_and_local_ones_renumbered() -> None:
    interpreter = ChunkInterpreter(local_tools=frozenset({"weather-get-weather"}))
    events: list[Event] = []
    for chunk in (
        start("r1", "web_search", 0),
        delta('{"query":"paris"}', index=0),
        start("l1", "weather-get-weather", 1),
        delta('{"location":"Paris"}', index=1),
        {"finish_reason": "tool_calls"},
    ):
        events.extend(interpreter.feed(chunk))
    assert Notice("tool_used", "web_search") in events
    assert tool_calls(events) == [("l1", "weather-get-weather", '{"location":"Paris"}')]


def test_non_mapping_tool_calls_are_skipped() -> None:
    assert feed({"tool_calls": ["junk", 3, None]}) == []
    assert feed({"tool_calls": "junk"}) == []


def test_usage_variants() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "reasoning_tokens": 3}
    assert feed({"usage": usage}) == [Usage(5, 7, 3)]
    assert feed({"usage": {}}) == [Usage(0, 0)]
    assert feed({"usage": {"input_tokens": True, "output_tokens": "9"}}) == [Usage(0, 0)]
    assert feed({"usage": {"input_tokens": 2.9, "output_tokens": 1}}) == [Usage(2, 1)]


def test_non_string_values_are_ignored() -> None:
    assert feed({"text": 5}) == []
    assert feed({"text": None, "reasoning": 3, "finish_reason": 1}) == []
    assert feed({"text": ["a"], "finish_reason": None}) == []


# --- properties ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = [
    "text",
    "reasoning",
    "finish_reason",
    "tool_calls",
    "usage",
    "error",
    "notification_type",
    "notification",
    "status",
    "content",
    "id",
    "index",
    "function",
    "name",
    "arguments",
    "message",
    "type",
    "input_tokens",
    "output_tokens",
    "references",
    "images",
    "image",
    "url",
]
FINISH = ["stop", "STOP", "tool_calls", "error", "length", "MAX_TOKENS", None]
tool_call_values = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["", "a", "b", "toolu_1"]) | json_values,
        "index": st.integers(-2, 4) | json_values,
        "name": st.sampled_from(["", "f", "web_search"]) | json_values,
        "arguments": st.sampled_from(["", "{", "}", '{"a":1}']) | json_values,
        "function": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["", "f", "g"]) | json_values,
                "arguments": st.sampled_from(["", "{", '"x"', "}"]) | json_values,
            },
        )
        | json_values,
    },
)
chunks = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=5) | json_values,
        "reasoning": st.text(max_size=5) | json_values,
        "finish_reason": st.sampled_from(FINISH) | json_values,
        "tool_calls": st.lists(tool_call_values | json_values, max_size=3) | json_values,
        "usage": st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3) | json_values,
        "error": json_values,
        "notification_type": json_values,
        "notification": json_values,
        "content": json_values,
    },
) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), json_values, max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(chunks, max_size=5), st.booleans(), st.booleans())
def test_any_chunks_raise_only_raycast_errors(
    sequence: list[dict[str, Any]], signed: bool, with_local_tools: bool
) -> None:
    interpreter = ChunkInterpreter(
        signed=signed, local_tools=frozenset({"f"}) if with_local_tools else None
    )
    events: list[Event] = []
    error: RaycastError | None = None
    try:
        for chunk in sequence:
            events.extend(interpreter.feed(chunk))
        interpreter.end()
    except RaycastError as raised:
        error = raised
    event_types = (
        TextDelta | ReasoningDelta | ToolCallDelta | Notice | Usage | Finish | Citation | ImageLink
    )
    assert all(isinstance(event, event_types) for event in events)
    if error is not None:
        assert error.message
        assert isinstance(error, APIStatusError | IncompleteStreamError)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_raise_only_raycast_errors(data: bytes, signed: bool) -> None:
    parser = StreamParser(signed=signed, max_event_size=128)
    message = "no error"
    try:
        parser.feed(data)
        parser.end()
    except RaycastError as error:
        message = error.message
    assert message


sse_like = st.lists(
    st.sampled_from(
        [
            b"data: ",
            b"data:",
            b"event: error\n",
            b": c\n",
            b"\n",
            b"\r\n",
            b"\n\n",
            b'{"text":"a"}',
            b'{"text":"","finish_reason":"stop"}',
            b'{"error":{"message":"x"}}',
            b'{"notification_type":"ping"}',
            b"[DONE]",
            b"{",
            b"}",
            b"[1]",
            b"\xff",
        ]
    ),
    max_size=20,
).map(b"".join)


def outcome(
    reads: Iterable[bytes], max_event_size: int = 1 << 20, signed: bool = True
) -> tuple[list[Event], str | None, str]:
    """The events, the error (class and message) and the partial text of a stream so read."""
    parser = StreamParser(max_event_size=max_event_size, signed=signed)
    events: list[Event] = []
    try:
        for read in reads:
            events.extend(parser.feed(read))
        parser.end()
    except RaycastError as error:
        return events, f"{type(error).__name__}: {error.message}", parser.partial_text
    return events, None, parser.partial_text


@settings(max_examples=300, deadline=None)
@given(sse_like, st.booleans(), st.lists(st.integers(0, 300), max_size=6))
def test_sse_like_bytes_raise_only_raycast_errors_however_split(
    data: bytes, signed: bool, cuts: list[int]
) -> None:
    points = sorted({c for c in cuts if c <= len(data)})
    bounds = [0, *points, len(data)]
    split = [data[a:b] for a, b in pairwise(bounds)]
    assert outcome(split, signed=signed) == outcome([data], signed=signed)


@given(text=st.text(), ascii_only=st.booleans(), kind=st.sampled_from(["", "event: error\n"]))
def test_a_text_chunk_reads_as_json_would_read_it(text: str, ascii_only: bool, kind: str) -> None:
    payload = json.dumps({"text": text}, ensure_ascii=ascii_only, separators=(",", ":"))
    data = f"{kind}data: {payload}\n\n".encode("utf-8", "surrogatepass")
    parser = StreamParser()
    if kind:  # an "error" event is an error whatever it holds
        with pytest.raises(RaycastError):
            parser.feed(data)
        return
    try:
        json_text = json.loads(data[6:-2].decode("utf-8", "replace"))["text"]
    except ValueError:
        return  # not valid JSON once decoded: the parser's other tests cover that
    events = parser.feed(data)
    assert events == ([TextDelta(json_text)] if json_text else [])
    assert parser.partial_text == json_text


# --- the fast path for runs of plain text events ------------------------------------------------

# Plain text events in the spacings a server may use, JSON escapes of every kind, and the
# near misses that must take the full path: invalid escapes, raw control characters, invalid
# UTF-8, a second key, an oversized text, and the other chunks a stream holds.
TEXT_LAYOUTS = ['{{"text":{}}}', '{{"text": {}}}', '{{ "text" : {} }}', '{{"text":\t{}}}']
ODD_EVENTS = [
    b'data: {"text":"\\x"}\n\n',
    b'data: {"text":"a\tb"}\n\n',
    b'data: {"text":"\xff\xfe \xe2\x82"}\n\n',
    b'data: {"text":"\\ud83d"}\n\n',
    b'data: {"text":"a","x":1}\n\n',
    b'data: {"text":"' + b"x" * 80 + b'"}\n\n',
    b'data: {"text":"a"} \n\n',
    b'data:{"text":"a"}\n\n',
    b'data: {"text":"\\u00e9\\/\\"\\\\\\b\\f\\n\\r\\t"}\n\n',
    b'event: error\ndata: {"text":"boom"}\n\n',
    b"id: 7\n",
    b": comment\n",
    b'data: {"text":"a"}\r\n\r\n',
    b'data: {"notification_type":"ping","notification":"","text":""}\n\n',
    b'data: {"reasoning":"hm","text":""}\n\n',
    b'data: {"text":"","finish_reason":"stop","usage":{"input_tokens":1,"output_tokens":2}}\n\n',
    b'data: {"text":"cut off\n\n',
    b"data: [DONE]\n\n",
]
text_events = st.builds(
    lambda layout, text, ascii: (
        "data: " + layout.format(json.dumps(text, ensure_ascii=ascii)) + "\n\n"
    ).encode(),
    st.sampled_from(TEXT_LAYOUTS),
    st.text(max_size=6),
    st.booleans(),
)
event_streams = st.lists(text_events | st.sampled_from(ODD_EVENTS), max_size=30).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=event_streams,
    cuts=st.lists(st.integers(0, 2000), max_size=6),
    cap=st.sampled_from([60, 1 << 20]),
)
def test_text_runs_decode_as_event_by_event_does(stream: bytes, cuts: list[int], cap: int) -> None:
    """Reads of one byte never hold a whole event, so they never take the fast path."""
    points = sorted({c for c in cuts if c <= len(stream)})
    reads = [stream[a:b] for a, b in pairwise([0, *points, len(stream)])]
    one_by_one = (stream[i : i + 1] for i in range(len(stream)))
    assert outcome(reads, cap) == outcome(one_by_one, cap)


def test_a_run_of_text_events_in_one_read() -> None:
    texts = ["Hé", ' "q"\n', "\\", "🎉", "", "end"]
    data = b"".join(f'data: {{"text": {json.dumps(t)}}}\n\n'.encode() for t in texts)
    parser = StreamParser()
    assert parser.feed(data) == [TextDelta(t) for t in texts if t]
    assert parser.partial_text == "".join(texts)
