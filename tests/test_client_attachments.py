"""Attachments through both clients against the emulator over a real loopback socket: what
reaches it (metadata, PUT, the chat's `content.attachments`), the upload cache, and every
failure ending in a typed error with no chat request sent. The scripted-transport unit tests
are in test_client_uploads.py."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from raycast_ai import (
    Attachment,
    AttachmentError,
    RaycastError,
    UploadError,
    UpstreamError,
)
from raycast_ai.client import UploadCache
from raycast_ai.emulator.recorder import RecordedRequest
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.files import FILES_PATH, uploaded_part
from support_emulator import KINDS, Harness, chat_requests, make_harness, new_nonce, user

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=KINDS)
async def harness(
    request: pytest.FixtureRequest, emulator: EmulatorServer, tmp_path: Path, clock: Clock
) -> AsyncIterator[Harness]:
    made = make_harness(request.param, emulator, tmp_path, uploads=UploadCache(clock=clock))
    yield made
    await made.close()


def png(nonce: str, size: int = 48_000) -> bytes:
    """An image of its own per test, so the shared emulator's records are told apart."""
    return (PNG_HEAD + nonce.encode() * size)[:size]


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def uploads_of(server: EmulatorServer, data: bytes) -> list[RecordedRequest]:
    """The metadata requests for this content (the shared emulator has others too)."""
    return [r for r in server.recorder.for_path(FILES_PATH) if md5(data).encode() in r.body]


def puts_of(server: EmulatorServer, data: bytes) -> list[RecordedRequest]:
    return [r for r in server.recorder.requests if r.method == "PUT" and r.body == data]


async def ask(harness: Harness, prompt: str, **kwargs: Any) -> str:
    attempt = await harness.attempt(user(prompt), **kwargs)
    if attempt.error is not None:
        raise attempt.error
    return attempt.text


@pytest.mark.anyio
async def test_an_image_and_a_pdf_are_uploaded_once_and_named_in_the_chat(
    harness: Harness, emulator: EmulatorServer, tmp_path: Path
) -> None:
    nonce = new_nonce()
    image = png(nonce)
    document = b"%PDF-1.7\n" + f"{nonce} page\n".encode() * 90_000  # about 1.5 MB, on disk
    path = tmp_path / "report.pdf"
    path.write_bytes(document)
    prompt = f"Compare them {nonce}"
    text = await ask(
        harness,
        prompt,
        attachments=[Attachment.from_bytes(image, filename="shot.png"), path, image],
    )
    assert text.startswith(
        "I see shot.png (image/png, 47 KB), report.pdf (application/pdf, 1.5 MB) and "
        "shot.png (image/png, 47 KB). "
    )
    assert text.endswith("".join(answer_chunks(prompt, "openai-gpt-4o-mini", 12)))
    (chat,) = chat_requests(emulator, nonce)
    body = chat.json()
    image_meta, document_meta = uploads_of(emulator, image), uploads_of(emulator, document)
    assert len(image_meta) == len(document_meta) == 1  # the image twice, uploaded once
    assert json.loads(image_meta[0].body) == {
        "chat_id": body["thread_id"],
        "blob": {
            "filename": "shot.png",
            "byte_size": len(image),
            "checksum": md5(image),
            "content_type": "image/png",
        },
    }
    assert json.loads(document_meta[0].body)["blob"]["filename"] == "report.pdf"
    (image_put,), (document_put,) = puts_of(emulator, image), puts_of(emulator, document)
    assert image_put.headers["content-md5"] == md5(image)
    assert not {"authorization", "x-raycast-signature-v2"} & set(image_put.headers)
    assert document_put.headers["content-length"] == str(len(document))
    files: Any = emulator.app.state.files
    ids = [files.by_key(p.path.rsplit("/", 1)[-1]).id for p in (image_put, document_put)]
    assert body["messages"][-1]["content"] == {
        "text": prompt,
        "attachments": [
            {"id": ids[0], "type": "file"},
            {"id": ids[1], "type": "file"},
            {"id": ids[0], "type": "file"},
        ],
    }


@pytest.mark.anyio
async def test_the_same_file_goes_up_again_only_after_the_cache_expires(
    harness: Harness, emulator: EmulatorServer, clock: Clock
) -> None:
    nonce = new_nonce()
    image = png(nonce)
    await ask(harness, f"first {nonce}", attachments=[image])
    await ask(harness, f"second {nonce}", attachments=[image])
    assert len(uploads_of(emulator, image)) == 1 and len(chat_requests(emulator, nonce)) == 2
    first, second = (r.json()["messages"][-1]["content"] for r in chat_requests(emulator, nonce))
    assert first["attachments"] == second["attachments"]
    clock.now += 601
    await ask(harness, f"third {nonce}", attachments=[image])
    assert len(uploads_of(emulator, image)) == 2 and len(puts_of(emulator, image)) == 2


async def refused(harness: Harness, nonce: str, **kwargs: Any) -> RaycastError:
    attempt = await harness.attempt(user(f"Look {nonce}"), **kwargs)
    assert attempt.error is not None and not attempt.events
    return attempt.error


@pytest.mark.anyio
async def test_a_failing_files_route_sends_no_question(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    image = png(nonce)
    attachment = Attachment.from_bytes(image, filename="shot @fault:500.png")
    error = await refused(harness, nonce, attachments=[attachment])
    assert isinstance(error, UpstreamError) and error.status_code == 500
    assert "Uploading the attachment 'shot @fault:500.png'" in error.message
    assert "not sent" in error.message
    assert not chat_requests(emulator, nonce) and not puts_of(emulator, image)


@pytest.mark.anyio
async def test_a_files_reply_without_an_address_is_an_upload_error(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    attachment = Attachment.from_bytes(png(nonce), filename="@fault:malformed shot.png")
    error = await refused(harness, nonce, attachments=[attachment])
    assert isinstance(error, UploadError) and "no upload address" in error.message
    assert not chat_requests(emulator, nonce)


@pytest.mark.anyio
async def test_a_checksum_mismatch_at_the_put_sends_no_question(
    harness: Harness, emulator: EmulatorServer, tmp_path: Path
) -> None:
    nonce = new_nonce()
    path = tmp_path / "shot.png"
    path.write_bytes(png(nonce))
    attachment = Attachment.from_path(path)
    path.write_bytes(png(nonce)[:-1] + b"!")  # changed on disk after it was hashed
    error = await refused(harness, nonce, attachments=[attachment])
    assert isinstance(error, UploadError) and "BadDigest" in error.message
    assert "Uploading the attachment 'shot.png'" in error.message
    assert not chat_requests(emulator, nonce)


@pytest.mark.anyio
async def test_a_chat_naming_an_unknown_file_is_refused(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": f"Look {nonce}"}, uploaded_part("no-such-id")],
        }
    ]
    attempt = await harness.attempt(messages)
    assert isinstance(attempt.error, UpstreamError) and attempt.error.status_code == 400
    assert "'no-such-id' was not found" in attempt.error.message
    (chat,) = chat_requests(emulator, nonce)
    assert chat.outcome == "rejected:attachment"


@pytest.mark.anyio
async def test_an_image_for_a_model_without_vision_is_refused_before_any_request(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    image = png(nonce)
    error = await refused(harness, nonce, model="raycast-ray1", attachments=[image])
    assert isinstance(error, AttachmentError)
    assert "'raycast-ray1' cannot read images" in error.message
    assert "openai-gpt-4o-mini" in error.message
    assert not uploads_of(emulator, image) and not chat_requests(emulator, nonce)


@pytest.mark.anyio
async def test_a_document_goes_to_a_model_without_vision(
    harness: Harness, emulator: EmulatorServer
) -> None:
    nonce = new_nonce()
    notes = f"notes {nonce}".encode()
    text = await ask(
        harness,
        f"Read {nonce}",
        model="raycast-ray1",
        attachments=[Attachment.from_bytes(notes, filename="notes.txt")],
    )
    assert text.startswith(f"I see notes.txt (text/plain, {len(notes)} bytes). ")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("data:image/png;base64,not*base64", "base64 data is not valid"),
        (b"\0" * (20 * 1024 * 1024 + 1), "the limit is 20 MB"),
        ("/nonexistent/shot.png", "Cannot read the attachment /nonexistent/shot.png"),
    ],
)
async def test_what_cannot_be_attached_fails_before_any_request(
    harness: Harness, emulator: EmulatorServer, value: object, says: str
) -> None:
    nonce = new_nonce()
    before = len(emulator.recorder.for_path(FILES_PATH))
    error = await refused(harness, nonce, attachments=[value])
    assert isinstance(error, AttachmentError) and says in error.message
    assert not chat_requests(emulator, nonce)
    assert len(emulator.recorder.for_path(FILES_PATH)) == before


@pytest.mark.anyio
async def test_a_structured_answer_about_a_file_uploads_it_once_for_both_requests(
    harness: Harness, emulator: EmulatorServer
) -> None:
    """The repair round trip of structured output asks again with the same file, which goes
    up once."""
    from pydantic import BaseModel

    class Caption(BaseModel):
        caption: str
        objects: list[str]

    nonce = new_nonce()
    image = png(nonce)
    completion = await harness.complete(
        user(f"Describe it {nonce} @json:invalid-once"),
        "openai-gpt-4o",
        schema=Caption,
        attachments=[Attachment.from_bytes(image, filename="cat.png")],
    )
    assert isinstance(completion.parsed, Caption)
    first, repair = chat_requests(emulator, nonce)
    assert len(uploads_of(emulator, image)) == 1
    attached = first.json()["messages"][0]["content"]["attachments"]
    assert attached and repair.json()["messages"][0]["content"]["attachments"] == attached
