from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from raycast_ai.protocol.errors import StreamDecodeError, UpstreamError
from raycast_ai.protocol.events import StreamParser
from raycast_ai.protocol.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

BOM = b"\xef\xbb\xbf"


def decode(*reads: bytes, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> list[ServerSentEvent]:
    decoder = SSEDecoder(max_event_size)
    events: list[ServerSentEvent] = []
    for read in reads:
        events.extend(decoder.feed(read))
    return events


def data_of(events: Iterable[ServerSentEvent]) -> list[str]:
    return [e.data for e in events]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# --- line endings -------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_every_line_ending_separates_events(eol: bytes) -> None:
    stream = b"data: one" + eol + eol + b"data: two" + eol + eol
    assert data_of(decode(stream)) == ["one", "two"]
    assert data_of(decode(*bytewise(stream))) == ["one", "two"]


def test_mixed_line_endings_in_one_stream() -> None:
    stream = b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r"
    assert data_of(decode(stream)) == ["a\nb\nc", "d"]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    # The CR ends the first read and the LF starts the next: still one line end, so the blank
    # line that follows dispatches exactly one event and no empty line is invented.
    events = decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert data_of(events) == ["a\nb"]


def test_cr_at_end_of_read_then_cr_is_two_line_ends() -> None:
    assert data_of(decode(b"data: a\r", b"\r")) == ["a"]


def test_cr_at_end_of_read_then_empty_read_then_lf() -> None:
    assert data_of(decode(b"data: a\r", b"", b"\ndata: b\n\n")) == ["a\nb"]


def test_lone_cr_followed_by_text_starts_a_new_line() -> None:
    assert data_of(decode(b"data: a\r", b"data: b\r\r")) == ["a\nb"]


# --- byte order mark ----------------------------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    assert data_of(decode(BOM + b"data: x\n\n")) == ["x"]


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_leading_bom_split_across_reads(cut: int) -> None:
    stream = BOM + b"data: x\n\n"
    assert data_of(decode(stream[:cut], stream[cut:])) == ["x"]
    assert data_of(decode(*bytewise(stream))) == ["x"]


def test_empty_reads_before_a_bom() -> None:
    assert data_of(decode(b"", b"\xef", b"", b"\xbb\xbf", b"data: x\n\n")) == ["x"]


def test_only_the_first_bom_is_stripped() -> None:
    # A second BOM becomes part of the field name, so "\ufeffdata" is an unknown field.
    assert decode(BOM + BOM + b"data: x\n\n") == []
    assert data_of(decode(BOM, BOM + b"data: x\n\ndata: y\n\n")) == ["y"]


def test_bom_after_the_first_line_is_kept_in_data() -> None:
    assert data_of(decode(b"data: a\n\n" + b"data: " + BOM + b"b\n\n")) == ["a", "\ufeffb"]


def test_bom_prefix_that_is_not_a_bom_is_kept() -> None:
    events = decode(b"\xef", b"data: x\n\ndata: y\n\n")
    assert data_of(events) == ["y"]  # the first line is "\ufffddata: x", an unknown field


# --- fields -------------------------------------------------------------------------------------


def test_comments_are_ignored() -> None:
    stream = b": keep-alive\n:\ndata: x\n: in the middle\ndata: y\n\n"
    assert data_of(decode(stream)) == ["x\ny"]


def test_comment_only_block_dispatches_nothing() -> None:
    assert decode(b": ping\n\n: ping\n\n") == []


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data: x", "x"),
        (b"data:x", "x"),
        (b"data:  x", " x"),
        (b"data:   x ", "  x "),
        (b"data:", ""),
        (b"data: ", ""),
        (b"data", ""),
        (b"data:\tx", "\tx"),
    ],
)
def test_data_value_has_one_leading_space_stripped(line: bytes, data: str) -> None:
    assert data_of(decode(line + b"\n\n")) == [data]


def test_multiline_data_joined_with_lf() -> None:
    assert data_of(decode(b"data: a\ndata:\ndata: c\n\n")) == ["a\n\nc"]


def test_data_containing_data_prefix_comes_through_untouched() -> None:
    stream = b'data: data: {"text": "data: x"}\n\n'
    assert data_of(decode(stream)) == ['data: {"text": "data: x"}']


def test_colon_in_value_is_kept() -> None:
    assert data_of(decode(b"data: a: b:c\n\n")) == ["a: b:c"]


def test_event_type_and_default() -> None:
    events = decode(b"event: error\ndata: x\n\ndata: y\n\nevent:\ndata: z\n\n")
    assert [e.event for e in events] == ["error", "message", "message"]


def test_event_type_is_reset_by_a_blank_line_without_data() -> None:
    events = decode(b"event: error\n\ndata: y\n\n")
    assert [(e.event, e.data) for e in events] == [("message", "y")]


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: bar\n\n") == []
    assert data_of(decode(b"foo: bar\ndata: x\nData: y\n\n")) == ["x"]


def test_id_persists_to_later_events() -> None:
    events = decode(b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "7"), ("b", "7"), ("c", "8")]


def test_id_set_without_data_still_applies_to_the_next_event() -> None:
    events = decode(b"id: 5\n\ndata: a\n\n")
    assert [(e.data, e.id) for e in events] == [("a", "5")]


def test_empty_id_resets_the_last_event_id() -> None:
    events = decode(b"id: 7\ndata: a\n\nid\ndata: b\n\n")
    assert [e.id for e in events] == ["7", ""]


def test_id_with_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_retry_sets_reconnection_time() -> None:
    events = decode(b"retry: 1500\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [1500, 1500]


@pytest.mark.parametrize("value", [b"1.5", b"-1", b"abc", b"", b" 10", b"10 ", "\u0663".encode()])
def test_non_digit_retry_is_ignored(value: bytes) -> None:
    events = decode(b"retry: 100\ndata: a\n\nretry: " + value + b"\ndata: b\n\n")
    assert [e.retry for e in events] == [100, 100]


def test_defaults_of_a_plain_event() -> None:
    assert decode(b"data: x\n\n") == [ServerSentEvent("x", "message", "", None)]


# --- dispatch -----------------------------------------------------------------------------------


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: foo\nid: 1\nretry: 5\n\n") == []


def test_several_blank_lines_dispatch_once() -> None:
    assert data_of(decode(b"data: a\n\n\n\n\ndata: b\n\n")) == ["a", "b"]


def test_unterminated_final_event_is_discarded() -> None:
    assert decode(b"data: a\n\ndata: b\n") == [ServerSentEvent("a")]
    assert decode(b"data: a\n\ndata: b") == [ServerSentEvent("a")]


def test_event_is_returned_by_the_read_that_completes_it() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("a")]
    assert decoder.feed(b"data: b\n\ndata: c\n\n") == [ServerSentEvent("b"), ServerSentEvent("c")]


# --- UTF-8 --------------------------------------------------------------------------------------


def test_multibyte_characters_split_anywhere() -> None:
    text = "今天是 2026 年 — émoji 😀 and ß"
    stream = b"data: " + text.encode() + b"\n\n"
    for cut in range(len(stream) + 1):
        assert data_of(decode(stream[:cut], stream[cut:])) == [text], cut
    assert data_of(decode(*bytewise(stream))) == [text]


def test_invalid_utf8_is_replaced() -> None:
    assert data_of(decode(b"data: a\xffb\xc3\n\n")) == ["a\ufffdb\ufffd"]


def test_invalid_utf8_in_field_names_and_values() -> None:
    events = decode(b"event: e\xff\nid: \xfe\ndata: x\n\n")
    assert [(e.event, e.id) for e in events] == [("e\ufffd", "\ufffd")]


# --- size cap -----------------------------------------------------------------------------------


def test_default_cap_is_one_mib() -> None:
    assert DEFAULT_MAX_EVENT_SIZE == 1024 * 1024


def test_event_below_the_cap_is_fine() -> None:
    payload = b"x" * (DEFAULT_MAX_EVENT_SIZE - 100)
    assert data_of(decode(b"data: " + payload + b"\n\n")) == [payload.decode()]


def test_one_long_unterminated_line_is_refused() -> None:
    reads = [b"data: "] + [b"x" * 65536] * 20
    with pytest.raises(StreamDecodeError, match=r"exceeded 1048576 bytes") as info:
        decode(*reads)
    assert "not a Raycast stream" in info.value.message
    assert isinstance(info.value, UpstreamError)


def test_long_line_without_any_line_end_in_one_read() -> None:
    with pytest.raises(StreamDecodeError, match="exceeded 1048576 bytes"):
        decode(b"x" * (DEFAULT_MAX_EVENT_SIZE + 1))


def test_many_data_lines_in_one_event_are_refused() -> None:
    reads = [b"data: " + b"y" * 1000 + b"\n"] * 2000
    with pytest.raises(StreamDecodeError, match="exceeded 1048576 bytes"):
        decode(*reads)


def test_oversized_event_is_refused_however_it_arrives() -> None:
    # Whether the reads are cut or not must not decide whether the stream is accepted.
    long_line = b"data: " + b"x" * (2 * DEFAULT_MAX_EVENT_SIZE) + b"\n\n"
    many_lines = b"data: xxxxxxxxxx\n" * 200_000 + b"\n"
    for stream in (long_line, many_lines):
        with pytest.raises(StreamDecodeError):
            decode(stream)
        with pytest.raises(StreamDecodeError):
            decode(*[stream[i : i + 65536] for i in range(0, len(stream), 65536)])


def test_cap_is_configurable() -> None:
    assert data_of(decode(b"data: 0123456789\n\n", max_event_size=16)) == ["0123456789"]
    with pytest.raises(StreamDecodeError, match="exceeded 16 bytes"):
        decode(b"data: 0123456789abcdefg\n\n", max_event_size=16)
    with pytest.raises(StreamDecodeError, match="exceeded 16 bytes"):
        decode(b"data: 01234567\ndata: 89abcdef\ndata: 01234567\n", max_event_size=16)


def test_cap_applies_per_event() -> None:
    stream = b"data: 0123456789\n\n" * 50
    assert len(decode(stream, max_event_size=16)) == 50
    assert len(decode(*bytewise(stream), max_event_size=16)) == 50


# --- properties ---------------------------------------------------------------------------------

FRAGMENTS = [
    b"data:",
    b"data: ",
    b"data",
    b"event: ",
    b"event:error",
    b"id: ",
    b"id:\x00",
    b"retry: ",
    b"retry:12",
    b":",
    b": comment",
    b" ",
    b"x",
    b"0",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n",
    BOM,
    "é".encode(),
    "今".encode(),
    "😀".encode(),
    b"\xff",
    b"\xc3",
]

streams = st.builds(
    lambda bom, parts: (BOM if bom else b"") + b"".join(parts),
    st.booleans(),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40),
)


def _outcome(reads: list[bytes], max_event_size: int) -> list[ServerSentEvent] | str:
    """The events of the whole stream, or "too large" when it ends in that error, at the latest
    at EOF (an error met in the same read as good events is held until the next call)."""
    decoder = SSEDecoder(max_event_size)
    events: list[ServerSentEvent] = []
    try:
        for read in reads:
            events.extend(decoder.feed(read))
        decoder.end()
    except StreamDecodeError:
        return "too large"
    return events


@example(stream=b"data:\n\ndata:data:data:", cuts=[7], cap=12)  # an error held until EOF
@settings(max_examples=200, deadline=None)
@given(
    stream=streams,
    cuts=st.lists(st.integers(0, 400), max_size=12),
    cap=st.sampled_from([12, 1 << 20]),
)
def test_any_split_gives_the_same_events(stream: bytes, cuts: list[int], cap: int) -> None:
    points = sorted({c for c in cuts if c <= len(stream)})
    bounds = [0, *points, len(stream)]
    reads = [stream[a:b] for a, b in pairwise(bounds)]
    assert _outcome(reads, cap) == _outcome([stream], cap)


@settings(max_examples=100, deadline=None)
@given(stream=streams)
def test_byte_by_byte_gives_the_same_events(stream: bytes) -> None:
    assert decode(*bytewise(stream)) == decode(stream)


line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"))
event_names = st.one_of(st.none(), line_text.filter(lambda s: s != "" and not s.startswith(":")))
sse_events = st.tuples(event_names, st.lists(line_text, min_size=1, max_size=4))


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(sse_events, max_size=6),
    eols=st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=1),
    comments=st.booleans(),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
)
def test_round_trip(
    events: list[tuple[str | None, list[str]]],
    eols: list[str],
    comments: bool,
    cuts: list[int],
) -> None:
    counter = iter(range(10**6))
    text = ""

    def eol() -> str:
        chosen = eols[next(counter) % len(eols)]
        # A CR followed by an LF would be one CRLF line end, not two.
        return "\r\n" if chosen == "\n" and text.endswith("\r") else chosen

    for name, lines in events:
        if comments:
            text += ": note" + eol()
        if name is not None:
            text += f"event: {name}{eol()}"
        for line in lines:
            text += f"data: {line}{eol()}"
        text += eol()
    stream = text.encode()
    points = sorted({c for c in cuts if c <= len(stream)})
    bounds = [0, *points, len(stream)]
    reads = [stream[a:b] for a, b in pairwise(bounds)]

    decoded = decode(*reads)
    assert [(e.event, e.data) for e in decoded] == [
        (name or "message", "\n".join(lines)) for name, lines in events
    ]


def test_events_before_an_oversized_one_are_kept_and_the_error_comes_next() -> None:
    decoder = SSEDecoder(max_event_size=100)
    events = decoder.feed(b"data: first\n\ndata: " + b"x" * 200 + b"\n\n")
    assert [e.data for e in events] == ["first"]
    with pytest.raises(StreamDecodeError, match="exceeded 100 bytes"):
        decoder.feed(b"data: more\n\n")


def test_stream_parser_attaches_the_text_so_far_to_an_oversized_event() -> None:
    parser = StreamParser(max_event_size=100)
    parser.feed(b'data: {"text":"hello"}\n\n')
    with pytest.raises(StreamDecodeError) as info:
        parser.feed(b"data: " + b"x" * 200)
    assert info.value.partial_text == "hello"


@pytest.mark.parametrize("cap", [63, 64, 65])
def test_the_size_limit_counts_the_line_as_sent_however_it_was_read(cap: int) -> None:
    event = b'data: {"notification":"","text":"' + b"x" * 29 + b'"}\n\n'  # a 64-byte line
    whole = _outcome([event], cap)
    assert _outcome(bytewise(event), cap) == whole
    assert (whole == "too large") == (cap < 64)
