"""Hosted web search through every dialect, end to end with the official SDKs, the gateway and
the emulator's guessed remote-tool replies (emulator/remote.py): what reaches Raycast is its
`web_search` remote tool, the remote call never comes back as a call to run, and the sources
come back as each dialect has them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest

from raycast_ai.emulator.remote import image_url, sources
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
NO_SEARCH = "openai_o1-o3"
WEB = {"name": "web_search", "type": "remote_tool"}
ANTHROPIC_SEARCH: Any = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def upstream_tools(emulator: EmulatorServer, tag: str) -> list[Any]:
    for record in reversed(emulator.recorder.for_path(CHAT_PATH)):
        if tag in record.body.decode():
            tools: list[Any] = record.json()["tools"]
            return tools
    raise AssertionError(f"no upstream request holds {tag}")


def url_of(annotation: Any) -> str:
    url: str = annotation["url"] if isinstance(annotation, dict) else annotation.url
    return url


def query(prompt: str) -> str:
    return prompt.replace(" @search", "")


@pytest.fixture
async def claude(gateway_at: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key="unused",
        base_url=gateway_at.base_url,
        http_client=gateway_at.http_client,
        max_retries=0,
    ) as sdk:
        yield sdk


# --- chat completions ---------------------------------------------------------------------------


async def test_chat_web_search_options_is_the_remote_tool_and_sources_are_annotations(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    prompt = f"what happened {nonce()} @search"
    done = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        web_search_options={},
    )
    assert upstream_tools(emulator, prompt.split()[2]) == [WEB]
    message = done.choices[0].message
    assert message.tool_calls is None
    assert done.choices[0].finish_reason == "stop"
    assert message.content is not None and message.content.startswith("According to [1] and [2]")
    found = sources(query(prompt))
    assert message.annotations is not None
    assert [(a.type, a.url_citation.url) for a in message.annotations] == [
        ("url_citation", s["url"]) for s in found
    ]
    first = message.annotations[0].url_citation
    assert message.content[first.start_index : first.end_index] == "[1]"
    assert first.title == found[0]["title"]


async def test_chat_stream_sends_the_annotations_before_the_finish(
    client: openai.AsyncOpenAI,
) -> None:
    prompt = f"what happened {nonce()} @search"
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        web_search_options={"search_context_size": "low"},
        stream=True,
    )
    text, annotations, finish = "", [], None
    async for chunk in stream:
        for choice in chunk.choices:
            assert not choice.delta.tool_calls
            text += choice.delta.content or ""
            annotations += (choice.delta.model_extra or {}).get("annotations") or []
            finish = choice.finish_reason or finish
    assert finish == "stop"
    assert [a["url_citation"]["url"] for a in annotations] == [
        s["url"] for s in sources(query(prompt))
    ]
    where = annotations[1]["url_citation"]
    assert text[where["start_index"] : where["end_index"]] == "[2]"


async def test_chat_images_are_markdown(client: openai.AsyncOpenAI) -> None:
    prompt = f"a fox {nonce()} @image"
    done = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        extra_body={"tools": [{"type": "remote_tool", "name": "gpt_image"}]},
    )
    content = done.choices[0].message.content or ""
    assert content.endswith(
        f"\n\n![image]({image_url('gpt_image', prompt.replace(' @image', ''))})"
    )
    assert done.choices[0].message.tool_calls is None


async def test_chat_search_with_a_model_that_cannot_is_a_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model=NO_SEARCH,
            messages=[{"role": "user", "content": "hi"}],
            web_search_options={},
        )
    assert "cannot use Raycast's web search" in str(caught.value)


# --- Responses ----------------------------------------------------------------------------------


async def test_responses_web_search_tool_is_the_remote_tool_with_url_citations(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    tag = nonce()
    prompt = f"what happened {tag} @search"
    raw = await client.responses.with_raw_response.create(
        model=MODEL, input=prompt, tools=[{"type": "web_search"}]
    )
    assert "x-raycast-dropped-tools" not in raw.headers
    response = raw.parse()
    assert upstream_tools(emulator, tag) == [WEB]
    (message,) = response.output
    assert message.type == "message"
    (part,) = message.content
    assert part.type == "output_text"
    found = sources(query(prompt))
    assert [(a.type, a.url, a.title) for a in part.annotations] == [
        ("url_citation", s["url"], s["title"]) for s in found
    ]
    assert part.text[part.annotations[0].start_index : part.annotations[0].end_index] == "[1]"


async def test_responses_stream_adds_annotations_and_codex_style_web_search_preview(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    tag = nonce()
    prompt = f"what happened {tag} @search"
    async with client.responses.stream(
        model=MODEL,
        input=prompt,
        tools=[{"type": "web_search_preview"}],
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    assert upstream_tools(emulator, tag) == [WEB]
    added = [e for e in events if e.type == "response.output_text.annotation.added"]
    assert [url_of(e.annotation) for e in added] == [s["url"] for s in sources(query(prompt))]
    assert [e.annotation_index for e in added] == [0, 1]
    (message,) = final.output
    assert message.type == "message"
    assert [a.url for a in message.content[0].annotations] == [url_of(e.annotation) for e in added]
    assert not any(e.type.startswith("response.function_call") for e in events)


async def test_responses_drops_web_search_for_a_model_that_cannot(
    client: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    tag = nonce()
    raw = await client.responses.with_raw_response.create(
        model=NO_SEARCH,
        input=f"hi {tag} @search",
        tools=[{"type": "web_search"}, {"type": "file_search", "vector_store_ids": []}],  # type: ignore[list-item]
    )
    assert raw.headers["x-raycast-dropped-tools"] == "file_search, web_search"
    assert raw.parse().status == "completed"
    assert upstream_tools(emulator, tag) == []


# --- Anthropic Messages -------------------------------------------------------------------------


async def test_anthropic_server_web_search_is_the_remote_tool_with_a_sources_list(
    claude: anthropic.AsyncAnthropic, emulator: EmulatorServer
) -> None:
    tag = nonce()
    prompt = f"what happened {tag} @search"
    message = await claude.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": prompt}],
        tools=[ANTHROPIC_SEARCH],
    )
    assert upstream_tools(emulator, tag) == [WEB]
    assert [block.type for block in message.content] == ["text"]
    assert message.stop_reason == "end_turn"
    text = message.content[0].text  # type: ignore[union-attr]
    found = sources(query(prompt))
    listed = "\n".join(f"{n}. [{s['title']}]({s['url']})" for n, s in enumerate(found, 1))
    assert text.startswith("According to [1] and [2]: ")
    assert text.endswith("\n\nSources:\n" + listed)


async def test_anthropic_stream_ends_with_the_sources(
    claude: anthropic.AsyncAnthropic, emulator: EmulatorServer
) -> None:
    tag = nonce()
    prompt = f"what happened {tag} @search"
    async with claude.messages.stream(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": prompt}],
        tools=[{"type": "web_search_20260209", "name": "web_search"}],  # type: ignore[list-item]
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert upstream_tools(emulator, tag) == [WEB]
    assert "content_block_start" in kinds
    assert [block.type for block in final.content] == ["text"]
    assert final.stop_reason == "end_turn"
    text = final.content[0].text  # type: ignore[union-attr]
    assert all(s["url"] in text for s in sources(query(prompt)))
    assert "\n\nSources:\n1. [" in text


async def test_anthropic_other_server_tools_are_still_refused(
    claude: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await claude.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "bash_20250124", "name": "bash"}],
        )
    assert "except web search" in str(caught.value)
