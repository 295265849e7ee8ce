"""Attachments, sans I/O: the files request and reply, data URLs, content types, and the
`content.attachments` of a chat request."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raycast_ai import Attachment, AttachmentError, UploadError
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.files import (
    Blob,
    parse_data_url,
    sniff_content_type,
    upload_body,
    upload_target,
    uploaded_part,
)
from raycast_ai.protocol.request import build_chat_request

GPT = ModelEntry(id="openai-gpt-4o-mini", model="gpt-4o-mini", provider="openai")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def test_the_metadata_body_describes_the_blob() -> None:
    attachment = Attachment.from_bytes(PNG, filename="shot.png")
    body = json.loads(upload_body("THREAD", attachment.blob))
    assert body == {
        "chat_id": "THREAD",
        "blob": {
            "filename": "shot.png",
            "byte_size": len(PNG),
            "checksum": base64.b64encode(hashlib.md5(PNG).digest()).decode(),
            "content_type": "image/png",
        },
    }


def test_the_reply_gives_the_id_the_address_and_the_headers() -> None:
    reply = {
        "id": 42,
        "key": "k",
        "direct_upload": {"url": "https://store.example/put?sig=1", "headers": {"A": "b"}},
    }
    target = upload_target(json.dumps(reply).encode(), "shot.png")
    assert (target.id, target.url, target.headers) == (
        "42",
        reply["direct_upload"]["url"],
        {"A": "b"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"id": "x"}',
        b'{"id": "x", "direct_upload": {"url": "ftp://x"}}',
    ],
)
def test_a_reply_without_an_upload_address_is_an_upload_error(body: bytes) -> None:
    with pytest.raises(UploadError, match=r"Uploading the attachment .shot\.png.*not sent"):
        upload_target(body, "shot.png")


def test_data_urls_base64_and_percent_encoded() -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert parse_data_url(url) == ("image/png", PNG)
    assert parse_data_url("data:,hello%20world") == ("text/plain", b"hello world")
    assert parse_data_url("data:text/markdown;charset=utf-8,%23%20Hi") == ("text/markdown", b"# Hi")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://example.com/cat.png", "must be a data URL"),
        ("data:image/png;base64", "must be a data URL"),
        ("data:image/png;base64,***", "base64 data is not valid"),
        ("data:not a type;base64,AAAA", "content type"),
    ],
)
def test_malformed_data_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(AttachmentError, match=says):
        parse_data_url(url)


def test_an_oversize_data_url_is_refused_before_it_is_decoded() -> None:
    url = "data:image/png;base64," + "A" * 4000
    with pytest.raises(AttachmentError, match="the limit is 1000 bytes"):
        parse_data_url(url, limit=1000)


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (PNG, None, "image/png"),
        (b"\xff\xd8\xff\xe0rest", None, "image/jpeg"),
        (b"RIFF\0\0\0\0WEBPVP8 ", None, "image/webp"),
        (b"%PDF-1.7\n", "x.bin", "application/pdf"),
        (b"print('hi')\n", "x.py", "text/x-python"),
        (b"plain words", None, "text/plain"),
        (b"\x00\xff\xfe\x80\x81\x82\x83", None, "application/octet-stream"),
    ],
)
def test_content_types_from_bytes_then_name(head: bytes, name: str | None, kind: str) -> None:
    assert sniff_content_type(head, name) == kind


@given(st.binary(max_size=3000), st.integers(1, 700))
def test_chunks_give_back_exactly_the_bytes(data: bytes, size: int) -> None:
    assert b"".join(Attachment.from_bytes(data).chunks(size)) == data


def test_a_file_is_hashed_like_its_bytes_and_read_again_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    data = b"# Notes\n" * 50_000
    path.write_bytes(data)
    from_file, from_bytes = Attachment.from_path(path), Attachment.from_bytes(data)
    assert (from_file.sha256, from_file.md5, from_file.size) == (
        from_bytes.sha256,
        from_bytes.md5,
        len(data),
    )
    assert from_file.data is None  # not held in memory
    assert (from_file.filename, from_file.content_type) == ("notes.md", "text/markdown")
    assert b"".join(from_file.chunks()) == data


def test_a_missing_or_oversize_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"Cannot read the attachment .*nope\.png"):
        Attachment.from_path(tmp_path / "nope.png")
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(AttachmentError, match=r"big\.bin.*the limit"):
        Attachment.from_path(big, limit=1000)


def test_uploaded_files_go_into_the_user_message() -> None:
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}, uploaded_part("f1")],
        }
    ]
    body = json.loads(build_chat_request(messages, GPT).body)
    assert body["messages"] == [
        {
            "author": "user",
            "content": {"text": "What is this?", "attachments": [{"id": "f1", "type": "file"}]},
        }
    ]


def test_an_attachment_not_uploaded_is_never_dropped() -> None:
    messages = [{"role": "user", "content": ["hi", Attachment.from_bytes(PNG).part()]}]
    with pytest.raises(Exception, match="not uploaded"):
        build_chat_request(messages, GPT)


def test_the_blob_names_what_the_put_must_match() -> None:
    attachment = Attachment.from_bytes(b"hello", filename="a.txt")
    assert attachment.blob == Blob("a.txt", 5, attachment.md5, "text/plain")


def test_images_go_only_to_models_with_vision_and_the_error_names_some() -> None:
    from raycast_ai.protocol.catalog import Catalog
    from raycast_ai.protocol.files import vision_refusal

    seeing = ModelEntry("openai-gpt-4o", "gpt-4o", "openai", abilities={"vision": True})
    blind = ModelEntry("raycast-ray1", "ray1", "raycast", abilities={"vision": {"supported": 0}})
    catalog = Catalog((seeing, blind, GPT))
    assert vision_refusal(seeing, catalog, ["a.png"]) is None
    assert vision_refusal(blind, catalog, []) is None
    refusal = vision_refusal(blind, catalog, ["a.png", "b.jpg"])
    assert refusal is not None
    assert "'raycast-ray1' cannot read images" in refusal.message
    assert "'a.png', 'b.jpg' are images" in refusal.message
    assert "e.g. openai-gpt-4o (" in refusal.message  # an entry without the ability is blind
    none = vision_refusal(blind, Catalog((blind,)), ["a.png"])
    assert none is not None and "No model in Raycast's catalog reads images" in none.message


def test_a_status_failure_keeps_its_type_and_says_the_upload_failed() -> None:
    from raycast_ai import RateLimitError
    from raycast_ai.protocol.files import files_failure, put_failure

    failure = files_failure(429, {"retry-after": "3"}, b'{"error":{"message":"slow"}}', "a.png")
    assert isinstance(failure.error, RateLimitError) and failure.error.retry_after == 3
    assert failure.retryable and failure.retry_after == 3
    assert failure.error.message.startswith("Uploading the attachment 'a.png' to Raycast failed")
    assert "slow" in str(failure.error)
    refused = put_failure(400, b"BadDigest", "a.png")
    assert isinstance(refused.error, UploadError) and not refused.retryable
    assert put_failure(503, b"", "a.png").retryable


def test_the_put_sends_the_reply_headers_but_never_a_length_of_its_own() -> None:
    from raycast_ai.protocol.files import UploadTarget, put_headers

    target = UploadTarget("1", "https://s/k", {"Content-MD5": "x", "content-length": "9"})
    assert put_headers(target) == {"Content-MD5": "x"}


@pytest.mark.parametrize(
    ("size", "text"),
    [(812, "812 bytes"), (48_213, "47 KB"), (1_572_864, "1.5 MB"), (20 * 1024 * 1024, "20 MB")],
)
def test_sizes_read_as_people_write_them(size: int, text: str) -> None:
    from raycast_ai.protocol.files import human_size

    assert human_size(size) == text
