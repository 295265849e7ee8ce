"""Images and files in every dialect: each one's parts and blocks become the neutral attachment
part of a user message (decoded, typed, named), URLs are left for the gateway's policy, and
whatever cannot be sent is a 400 naming the field: never a 500, never dropped."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raycast_ai.attachments import Attachment
from raycast_ai.dialects import anthropic_messages, openai_chat, openai_responses
from raycast_ai.dialects.attachments import URL_PART, described
from raycast_ai.dialects.base import Chat
from raycast_ai.dialects.errors import BadRequest
from raycast_ai.protocol.files import ATTACHMENT_PART


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = png()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
PDF_B64 = base64.b64encode(PDF).decode()


def chat_request(*content: Any, role: str = "user") -> Chat:
    body = {"model": "m", "messages": [{"role": role, "content": list(content)}]}
    return openai_chat.parse(json.dumps(body).encode())


def anthropic_request(*blocks: Any) -> Chat:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": list(blocks)}]}
    return anthropic_messages.parse(json.dumps(body).encode())


def responses_request(*content: Any, role: str = "user") -> Chat:
    body = {"model": "m", "input": [{"role": role, "content": list(content)}]}
    return openai_responses.parse(json.dumps(body).encode())


def files(chat: Chat) -> list[Attachment]:
    return [
        p[ATTACHMENT_PART]
        for m in chat.messages
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p.get("type") == ATTACHMENT_PART
    ]


def text_of(chat: Chat) -> str:
    content = chat.messages[-1]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p.get("type") == "text")


def refusal(parse: Callable[[], Chat]) -> tuple[str | None, str]:
    with pytest.raises(BadRequest) as caught:
        parse()
    assert caught.value.info.status == 400
    return caught.value.info.param, caught.value.info.message


# -- OpenAI chat ---------------------------------------------------------------------------------


def test_chat_image_url_data_url_is_an_attachment_next_to_the_text() -> None:
    chat = chat_request(
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}},
    )
    (image,) = files(chat)
    assert (image.content_type, image.size, image.filename) == (
        "image/png",
        len(PNG),
        "attachment.png",
    )
    assert image.data == PNG
    assert text_of(chat) == "What is this?"


def test_chat_file_part_with_a_pdf_keeps_its_name() -> None:
    data_url = {"file_data": "data:application/pdf;base64," + PDF_B64, "filename": "report.pdf"}
    bare = {"file_data": PDF_B64, "filename": "../etc/same.pdf"}
    chat = chat_request({"type": "file", "file": data_url}, {"type": "file", "file": bare})
    first, second = files(chat)
    assert (first.filename, first.content_type, first.data) == (
        "report.pdf",
        "application/pdf",
        PDF,
    )
    # Bare base64: the type is read from the bytes; a path in the name is dropped.
    assert (second.filename, second.content_type) == ("same.pdf", "application/pdf")


def test_chat_http_url_is_left_for_the_gateways_policy() -> None:
    chat = chat_request({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}})
    (part,) = chat.messages[0]["content"]
    assert part["type"] == URL_PART and part["url"] == "https://example.com/a.png"
    assert part["param"] == "messages.0.content.0.image_url"
    assert "data URL" in part["hint"]


@pytest.mark.parametrize(
    ("part", "param", "words"),
    [
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
            "image_url",
            "base64",
        ),
        ({"type": "image_url", "image_url": {"url": "data:nonsense"}}, "image_url", "data URL"),
        ({"type": "image_url", "image_url": {"url": "ftp://x/a.png"}}, "image_url", "data URL"),
        ({"type": "image_url", "image_url": {}}, "image_url", "data URL"),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "file.file_id", "cannot look up"),
        ({"type": "file", "file": {"file_data": "%%%"}}, "file.file_data", "base64"),
        ({"type": "file", "file": "x"}, "", "file_data"),
        ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, "", "audio"),
    ],
)
def test_chat_parts_that_cannot_be_sent_are_400s_naming_the_field(
    part: dict[str, Any], param: str, words: str
) -> None:
    where, message = refusal(lambda: chat_request({"type": "text", "text": "hi"}, part))
    assert where == "messages.0.content.1" + (f".{param}" if param else "")
    assert words in message


def test_chat_images_belong_to_user_messages() -> None:
    image = {"type": "image_url", "image_url": {"url": PNG_URL}}
    where, message = refusal(lambda: chat_request(image, role="assistant"))
    assert where == "messages.0.content.0" and "user messages" in message
    tool = openai_chat.parse(
        json.dumps(
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "look"},
                    {"role": "tool", "tool_call_id": "c", "content": [image]},
                ],
            }
        ).encode()
    )
    assert "image_url omitted" in tool.messages[1]["content"][0]["text"]


# -- Anthropic Messages --------------------------------------------------------------------------


def test_anthropic_image_and_documents_become_attachments() -> None:
    chat = anthropic_request(
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": base64.b64encode(PNG).decode(),
            },
        },
        {
            "type": "document",
            "title": "Report.pdf",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "héllo"},
        },
        {"type": "text", "text": "Compare them."},
    )
    image, pdf, text = files(chat)
    assert (image.content_type, image.data) == ("image/png", PNG)
    assert (pdf.filename, pdf.content_type, pdf.data) == ("Report.pdf", "application/pdf", PDF)
    assert (text.filename, text.content_type, text.data) == (
        "document.txt",
        "text/plain",
        "héllo".encode(),
    )
    assert text_of(chat) == "Compare them."


def test_anthropic_files_join_the_turn_they_came_with() -> None:
    image = {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(PNG).decode(),
        },
    }
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "user", "content": [image, {"type": "text", "text": "second"}]},
        ],
    }
    chat = anthropic_messages.parse(json.dumps(body).encode())
    assert len(chat.messages) == 1
    assert text_of(chat) == "first\nsecond"
    assert len(files(chat)) == 1


def test_anthropic_url_source_is_left_for_the_policy_and_file_source_refused() -> None:
    chat = anthropic_request(
        {"type": "image", "source": {"type": "url", "url": "http://example.com/a.png"}}
    )
    (part,) = chat.messages[0]["content"]
    assert part["type"] == URL_PART and "base64 source" in part["hint"]
    where, message = refusal(
        lambda: anthropic_request({"type": "document", "source": {"type": "file", "file_id": "f"}})
    )
    assert where == "messages.0.content.0.source.file_id" and "base64" in message
    where, message = refusal(
        lambda: anthropic_request(
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "!!"}}
        )
    )
    assert where == "messages.0.content.0.source.data" and "not valid" in message


def test_anthropic_tool_result_image_is_a_note() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "read the screenshot"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "Read", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "AA==",
                                },
                            }
                        ],
                    }
                ],
            },
        ],
    }
    chat = anthropic_messages.parse(json.dumps(body).encode())
    assert chat.messages[-1]["role"] == "tool"
    assert "image omitted" in chat.messages[-1]["content"]


# -- OpenAI Responses ----------------------------------------------------------------------------


def test_responses_input_image_and_input_file_become_attachments() -> None:
    chat = responses_request(
        {"type": "input_text", "text": "Summarise"},
        {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
        {
            "type": "input_file",
            "file_data": "data:application/pdf;base64," + PDF_B64,
            "filename": "a.pdf",
        },
        {
            "type": "input_file",
            "file_data": base64.b64encode(b"x = 1\n").decode(),
            "filename": "a.py",
        },
    )
    image, pdf, code = files(chat)
    assert image.content_type == "image/png"
    assert (pdf.filename, pdf.content_type) == ("a.pdf", "application/pdf")
    assert (code.filename, code.content_type, code.data) == ("a.py", "text/x-python", b"x = 1\n")
    assert text_of(chat) == "Summarise"


def test_responses_urls_and_ids() -> None:
    chat = responses_request({"type": "input_file", "file_url": "https://example.com/a.pdf"})
    assert chat.messages[0]["content"][0]["type"] == URL_PART
    where, message = refusal(
        lambda: responses_request({"type": "input_image", "file_id": "file-1"})
    )
    assert where == "input[0].content[0].file_id" and "data URL" in message
    where, _ = refusal(
        lambda: responses_request({"type": "input_image", "image_url": "data:image/png;base64,**"})
    )
    assert where == "input[0].content[0].image_url"


def test_a_stored_conversation_names_its_files_without_their_bytes() -> None:
    chat = responses_request(
        {"type": "input_text", "text": "see"}, {"type": "input_image", "image_url": PNG_URL}
    )
    stored = described(chat.messages)
    assert stored[-1]["content"] == f"see\n[attached: attachment.png (image/png, {len(PNG)} bytes)]"
    json.dumps(stored)


# -- no part ever causes a 500 -------------------------------------------------------------------

text = st.text(max_size=12)
urls = (
    st.sampled_from(
        [
            "data:",
            "data:image/png;base64,",
            "data:;base64,QUFB",
            "data:image/png,%FF",
            "http://",
            "https://h/x",
            "data:a b/c;base64,AA",
        ]
    )
    | text
)
values = (
    st.none()
    | st.integers()
    | text
    | urls
    | st.lists(text, max_size=2)
    | st.dictionaries(text, text, max_size=2)
)
sources = st.fixed_dictionaries(
    {"type": st.sampled_from(["base64", "url", "file", "text", "content", "x"]) | values},
    optional={
        "media_type": st.sampled_from(["image/png", "text/plain", "bad"]) | values,
        "data": values | urls,
        "url": values | urls,
        "content": values,
    },
)
chat_parts = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": values | st.fixed_dictionaries({"url": values | urls}),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("file")},
        optional={
            "file": values
            | st.fixed_dictionaries(
                {}, optional={"file_data": values | urls, "filename": values, "file_id": values}
            )
        },
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["input_audio", "text", "x"])}, optional={"text": values}
    ),
)
anthropic_blocks = st.fixed_dictionaries(
    {"type": st.sampled_from(["image", "document", "text"])},
    optional={"source": values | sources, "title": values, "text": values},
)
responses_parts = st.fixed_dictionaries(
    {"type": st.sampled_from(["input_image", "input_file", "input_text"])},
    optional={
        "image_url": values | urls,
        "file_data": values | urls,
        "file_url": values | urls,
        "file_id": values,
        "filename": values,
        "text": values,
    },
)


def _never_a_crash(parse: Callable[[], Chat]) -> None:
    refused = None
    try:
        chat = parse()
    except BadRequest as exc:
        refused = exc.info
    if refused is not None:
        assert refused.status == 400 and refused.message
        return
    json.dumps(described(chat.messages))


@settings(max_examples=300)
@given(st.lists(chat_parts, max_size=3), st.sampled_from(["user", "assistant", "tool", "system"]))
def test_no_chat_part_causes_a_crash(parts: list[Any], role: str) -> None:
    _never_a_crash(lambda: chat_request(*parts, role=role))


@settings(max_examples=300)
@given(st.lists(anthropic_blocks, max_size=3))
def test_no_anthropic_block_causes_a_crash(blocks: list[Any]) -> None:
    _never_a_crash(lambda: anthropic_request(*blocks))


@settings(max_examples=300)
@given(st.lists(responses_parts, max_size=3), st.sampled_from(["user", "assistant", "developer"]))
def test_no_responses_part_causes_a_crash(parts: list[Any], role: str) -> None:
    _never_a_crash(lambda: responses_request(*parts, role=role))
