"""Raycast's remote tools in the core: the names, the request entries, and every guessed reply
shape (raycast-protocol.md 9.2) read without ever raising."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raycast_ai.emulator.catalog import models_payload
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.errors import APIStatusError, IncompleteStreamError, InvalidRequestError
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
)
from raycast_ai.protocol.remote import (
    KNOWN_REMOTE_TOOLS,
    citation_span,
    citations,
    images,
    markdown_extras,
    markdown_images,
    markdown_sources,
    remote_tool_names,
)
from raycast_ai.protocol.request import ChatOptions, build_chat_request

CATALOG = Catalog.parse(models_payload())
MODEL = CATALOG.resolve("openai-gpt-4o-mini")
NO_SEARCH = CATALOG.resolve("openai_o1-o3")
HELLO = [{"role": "user", "content": "hello"}]
CLOCK = {"type": "function", "function": {"name": "clock-now", "parameters": {"type": "object"}}}
WEB = {"name": "web_search", "type": "remote_tool"}


def body_of(model: ModelEntry = MODEL, **options: Any) -> dict[str, Any]:
    request = build_chat_request(HELLO, model, ChatOptions(**options), catalog=CATALOG)
    body: dict[str, Any] = json.loads(request.body)
    return body


def feed(*chunks: dict[str, Any], **kwargs: Any) -> list[Event]:
    interpreter = ChunkInterpreter(**kwargs)
    return [event for chunk in chunks for event in interpreter.feed(chunk)]


# --- request ------------------------------------------------------------------------------------


def test_remote_tools_are_sent_after_local_ones_once_each() -> None:
    request = build_chat_request(
        HELLO,
        MODEL,
        ChatOptions(tools=[CLOCK], remote_tools=["web_search", "read_page", "web_search"]),
    )
    body = json.loads(request.body)
    assert body["tools"][1:] == [WEB, {"name": "read_page", "type": "remote_tool"}]
    assert body["tools"][0]["type"] == "local_tool"
    assert body["tool_choice"] == "auto"
    assert request.remote_tools == frozenset({"web_search", "read_page"})
    assert request.local_tools == frozenset({"clock-now"})


def test_remote_tools_alone_offer_tools_with_auto() -> None:
    body = body_of(remote_tools=("web_search",))
    assert body["tools"] == [WEB]
    assert body["tool_choice"] == "auto"


def test_a_raw_entry_and_the_option_name_the_tool_once() -> None:
    body = body_of(tools=[WEB], remote_tools=["web_search"])
    assert body["tools"] == [WEB]


def test_a_raw_entry_is_the_escape_hatch_for_new_names() -> None:
    body = body_of(tools=[{"type": "remote_tool", "name": "brand_new_tool"}])
    assert body["tools"] == [{"name": "brand_new_tool", "type": "remote_tool"}]


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        body_of(remote_tools=["web_serch"])
    message = caught.value.message
    assert "Did you mean 'web_search'?" in message
    assert all(name in message for name in KNOWN_REMOTE_TOOLS)
    assert '"type": "remote_tool"' in message  # how to send it anyway


def test_a_string_is_not_a_list_of_names() -> None:
    with pytest.raises(InvalidRequestError, match=r"a list of names, e.g. \['web_search'\]"):
        remote_tool_names("web_search")


def test_a_model_without_web_search_is_refused_naming_models_that_can() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        body_of(NO_SEARCH, remote_tools=["web_search"])
    message = caught.value.message
    assert "'openai_o1-o3' cannot use Raycast's web search" in message
    assert "openai-gpt-4o-mini" in message
    assert "openai_o1-o3," not in message
    # Other remote tools are not governed by that ability.
    assert body_of(NO_SEARCH, remote_tools=["gpt_image"])["tools"] == [
        {"name": "gpt_image", "type": "remote_tool"}
    ]


def test_an_entry_without_abilities_may_search() -> None:
    bare = ModelEntry(id="x", model="x", provider="p")
    assert bare.supports_web_search
    assert body_of(bare, remote_tools=["web_search"])["tools"] == [WEB]
    said_no = ModelEntry(id="y", model="y", provider="p", abilities={"web_search": False})
    assert not said_no.supports_web_search


def test_forcing_a_remote_tool_offers_only_it_and_requires_it() -> None:
    choice = {"type": "remote_tool", "name": "web_search"}
    body = body_of(tools=[CLOCK], remote_tools=["web_search"], tool_choice=choice)
    assert body["tools"] == [WEB]
    assert body["tool_choice"] == "required"
    # A forced function named like an offered remote tool means the same.
    function = {"type": "function", "function": {"name": "web_search"}}
    assert body_of(remote_tools=["web_search"], tool_choice=function)["tools"] == [WEB]


def test_tool_choice_none_offers_no_remote_tool_either() -> None:
    body = body_of(remote_tools=["web_search"], tool_choice="none")
    assert body["tools"] == []
    # Nothing offered, so the model's missing ability does not matter.
    assert body_of(NO_SEARCH, remote_tools=["web_search"], tool_choice="none")["tools"] == []


def test_a_function_named_like_an_offered_remote_tool_is_refused() -> None:
    clash = {"type": "function", "function": {"name": "web_search"}}
    with pytest.raises(InvalidRequestError, match="rename the function"):
        body_of(tools=[clash], remote_tools=["web_search"])


# --- reply --------------------------------------------------------------------------------------


def test_a_flat_remote_call_is_hidden_without_local_tools() -> None:
    events = feed(
        {"text": "", "tool_calls": [{"id": "c1", "name": "web_search", "arguments": "{}"}]},
        {"text": "Found it.", "finish_reason": "stop"},
        remote_tools=frozenset({"web_search"}),
    )
    assert not any(isinstance(e, ToolCallDelta) for e in events)
    assert events == [Notice("tool_used", "web_search"), TextDelta("Found it."), Finish("stop")]


@pytest.mark.parametrize(
    "call",
    [
        {"call_id": "c1", "name": "web_search", "arguments": '{"query":"x"}'},
        {"toolCallId": "c1", "toolName": "web_search", "input": {"query": "x"}},
        {"id": "c1", "function": {"name": "web_search", "args": {"query": "x"}}},
        {"id": "c1", "type": "function", "function": {"name": "gpt_image", "arguments": ""}},
    ],
)
def test_every_guessed_call_shape_of_a_remote_tool_is_hidden(call: dict[str, Any]) -> None:
    for chunk in ({"tool_calls": [call]}, {"tool_call": call}, {"tool_calls": call}):
        events = feed(chunk, {"finish_reason": "tool_calls"})
        assert not any(isinstance(e, ToolCallDelta) for e in events), chunk
        # Raycast ran it: the client is not left with a tool_calls finish and no call.
        assert events[-1] == Finish("stop")


def test_a_requested_new_remote_tool_is_hidden_too() -> None:
    call = {"id": "c1", "name": "brand_new_tool", "arguments": "{}"}
    hidden = feed({"tool_calls": [call]}, remote_tools=frozenset({"brand_new_tool"}))
    assert hidden == [Notice("tool_used", "brand_new_tool")]
    shown = feed({"tool_calls": [call]})
    assert [type(e) for e in shown] == [ToolCallDelta]


def test_a_local_tool_named_like_a_remote_one_is_the_clients() -> None:
    call = {"id": "c1", "name": "web_search", "arguments": "{}"}
    events = feed({"tool_calls": [call]}, local_tools=frozenset({"web_search"}))
    assert events == [ToolCallDelta(0, "c1", "web_search", "{}")]


def test_references_become_citations_numbered_once_per_url() -> None:
    events = feed(
        {
            "references": [
                {"title": "A", "url": "https://a.example/1", "summary": "about a", "images": []},
                {"title": "B\n page", "url": "https://b.example/", "description": "about b"},
                {"title": "no url"},
                {"title": "bad scheme", "url": "javascript:alert(1)"},
            ],
            "text": "",
        },
        {"content": {"references": [{"title": "A again", "url": "https://a.example/1"}]}},
        {"citations": ["https://c.example/", 3, None]},
    )
    assert events == [
        Citation("https://a.example/1", "A", "about a", 1),
        Citation("https://b.example/", "B page", "about b", 2),
        Citation("https://c.example/", "", "", 3),
    ]


def test_images_top_level_and_under_content() -> None:
    events = feed(
        {"image": "https://i.example/1.png", "text": ""},
        {"images": ["https://i.example/2.png", {"url": "https://i.example/3.png"}, 7]},
        {"content": {"image": "https://i.example/4.png", "images": ["data:image/png;base64,AA"]}},
        {"images": "https://i.example/5.png", "image_count": 1},
        {"image": "file:///etc/passwd"},
    )
    assert events == [
        ImageLink("https://i.example/1.png"),
        ImageLink("https://i.example/2.png"),
        ImageLink("https://i.example/3.png"),
        ImageLink("https://i.example/4.png"),
        ImageLink("data:image/png;base64,AA"),
        ImageLink("https://i.example/5.png"),
    ]


def test_the_tool_used_notice() -> None:
    chunk = {"notification_type": "tool_used", "notification": "Searching the web...", "text": ""}
    assert feed(chunk) == [Notice("tool_used", "Searching the web...")]


def test_what_is_not_understood_is_reported_never_raised() -> None:
    reported: list[str] = []
    events = feed(
        {"references": "nope", "images": [{"src": "x"}], "surprise": 1, "text": "hi"},
        report=lambda what, value: reported.append(f"{what}: {value!r}"),
    )
    assert events == [TextDelta("hi")]
    assert any("surprise" in line for line in reported)
    assert any("references that is not a list" in line for line in reported)
    assert any("an image that is not a URL" in line for line in reported)


def test_the_collector_keeps_citations_and_images() -> None:
    collector = Collector()
    for event in feed(
        {"references": [{"title": "A", "url": "https://a.example/"}]},
        {"images": ["https://i.example/1.png"]},
        {"text": "Answer [1].", "finish_reason": "stop"},
    ):
        collector.add(event)
    done = collector.result("m")
    assert done.text == "Answer [1]."
    assert done.citations == (Citation("https://a.example/", "A", "", 1),)
    assert done.images == (ImageLink("https://i.example/1.png"),)
    assert done.notices == ()


def test_the_parser_passes_the_remote_tools_on() -> None:
    data = b'data: {"tool_calls":[{"id":"x","name":"new_tool","arguments":"{}"}]}\n\n'
    data += b'data: {"text":"ok","finish_reason":"stop"}\n\n'
    parser = StreamParser(remote_tools=frozenset({"new_tool"}))
    events = parser.feed(data)
    parser.end()
    assert events == [Notice("tool_used", "new_tool"), TextDelta("ok"), Finish("stop")]


# --- rendering ----------------------------------------------------------------------------------


def test_markdown_of_images_and_sources() -> None:
    sources = [
        Citation("https://a.example/x (1)", "A [x]", "", 1),
        Citation("https://b/", "", "", 2),
    ]
    assert markdown_sources(sources) == (
        "\n\nSources:\n1. [A \\[x\\]](https://a.example/x%20%281%29)\n2. [https://b/](https://b/)"
    )
    assert markdown_images([ImageLink("https://i/1.png")], after="text") == (
        "\n\n![image](https://i/1.png)"
    )
    assert markdown_images([ImageLink("https://i/1.png")], after="") == "![image](https://i/1.png)"
    assert markdown_extras("", [], sources[:1]).startswith("Sources:\n1. ")
    assert markdown_extras("", [], []) == ""


def test_citation_span() -> None:
    cited = Citation("https://a.example/", "A", "", 2)
    assert citation_span("see https://a.example/ now", cited) == (4, 22)
    assert citation_span("as [1] and [2] say", cited) == (11, 14)
    assert citation_span("no marker", cited) == (9, 9)


# --- never raises -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
urls = st.sampled_from(["https://a.example/", "http://b/", "data:image/png;base64,x", "ftp://c"])
references = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "url": urls | json_values,
            "link": urls,
            "title": st.text(max_size=8) | json_values,
            "summary": json_values,
            "description": json_values,
            "images": json_values,
        },
    )
    | urls
    | json_values,
    max_size=3,
)
remote_chunk = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=5) | json_values,
        "references": references | json_values,
        "citations": references | json_values,
        "image": urls | json_values,
        "images": st.lists(urls | json_values, max_size=3) | json_values,
        "image_count": json_values,
        "content": st.fixed_dictionaries(
            {},
            optional={
                "image": urls | json_values,
                "images": st.lists(urls, max_size=2) | json_values,
                "references": references,
                "notification": json_values,
            },
        )
        | json_values,
        "tool_calls": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": json_values,
                    "call_id": json_values,
                    "toolCallId": json_values,
                    "name": st.sampled_from(["web_search", "gpt_image", "f", ""]) | json_values,
                    "toolName": json_values,
                    "arguments": json_values,
                    "input": json_values,
                    "args": json_values,
                    "function": json_values,
                },
            )
            | json_values,
            max_size=2,
        )
        | json_values,
        "tool_call": json_values,
        "notification_type": st.sampled_from(["tool_used", "ping"]) | json_values,
        "notification": json_values,
        "finish_reason": st.sampled_from(["stop", "tool_calls", None]),
    },
) | st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(remote_chunk, max_size=6), st.booleans())
def test_any_remote_tool_chunk_never_raises(chunks: list[dict[str, Any]], local: bool) -> None:
    reported: list[str] = []
    interpreter = ChunkInterpreter(
        local_tools=frozenset({"f"}) if local else None,
        remote_tools=frozenset({"web_search"}),
        report=lambda what, value: reported.append(what),
    )
    events: list[Event] = []
    error: APIStatusError | IncompleteStreamError | None = None
    try:
        for chunk in chunks:
            events.extend(interpreter.feed(chunk))
        interpreter.end()
    except (APIStatusError, IncompleteStreamError) as raised:
        error = raised
    assert error is None or error.message
    kinds = (
        TextDelta | ReasoningDelta | ToolCallDelta | Notice | Usage | Finish | Citation | ImageLink
    )
    assert all(isinstance(e, kinds) for e in events)
    # A remote tool's call never reaches the client as a call to run.
    assert not any(isinstance(e, ToolCallDelta) and e.name == "web_search" for e in events)
    for event in events:
        if isinstance(event, Citation):
            assert event.url.startswith(("https://", "http://"))
        if isinstance(event, ImageLink):
            assert event.url.startswith(("https://", "http://", "data:image/"))
    assert all(isinstance(line, str) for line in reported)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_the_extractors_take_any_json(value: Any) -> None:
    chunk = value if isinstance(value, dict) else {"references": value, "images": value}
    assert isinstance(citations(chunk), list)
    assert isinstance(images(chunk), list)
