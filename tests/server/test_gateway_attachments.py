"""Attachments through the gateway, with the official openai and anthropic clients over the
emulator: files refused in each dialect's error shape before anything reaches Raycast (an
http(s) URL by default, a malformed data URL, an oversize file), and URLs fetched only from the
hosts the gateway allows, from a real HTTP server on loopback."""

from __future__ import annotations

import base64
import http.server
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from raycast_ai.client import AsyncRaycastClient
from raycast_ai.dialects import openai_chat
from raycast_ai.dialects.errors import BadRequest
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.files import ATTACHMENT_PART, human_size
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.server import attachments as server_attachments
from raycast_ai.server.attachments import allowed, resolve
from raycast_ai.server.settings import DEFAULT_MAX_BODY_SIZE, body_size_for

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
CHAT_PATH = "/api/v1/ai/chat_completions"
FILES_PATH = "/api/v1/ai/files"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
SERVED = PNG + uuid.uuid4().hex.encode()
BIG = b"\x89PNG\r\n\x1a\n" + b"\0" * 5000


class _Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/cat.png":
            self._send(200, SERVED, "image/png")
        elif self.path == "/big.png":
            # No Content-Length: the limit must hold while reading.
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(BIG)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/cat.png")
            self.end_headers()
        elif self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.invalid/cat.png")
            self.end_headers()
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files_at() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that serves a PNG, an oversize file and redirects."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Sdks:
    """Both official clients, talking to one gateway in-process."""

    openai: openai.AsyncOpenAI
    anthropic: anthropic.AsyncAnthropic


@asynccontextmanager
async def gateway(upstream_options: dict[str, Any], **settings: Any) -> AsyncIterator[Sdks]:
    """A gateway with `settings` over the emulator."""
    async with AsyncRaycastClient(**upstream_options) as upstream:
        app = create_app(GatewaySettings(**settings), client=upstream)
        transport = httpx2.ASGITransport(app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield Sdks(
                openai.AsyncOpenAI(
                    api_key="unused", base_url="http://gateway/v1", http_client=http, max_retries=0
                ),
                anthropic.AsyncAnthropic(
                    api_key="unused", base_url="http://gateway", http_client=http, max_retries=0
                ),
            )


def chat_image(url: str) -> list[Any]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def anthropic_image(source: dict[str, Any]) -> list[Any]:
    return [
        {
            "role": "user",
            "content": [{"type": "image", "source": source}, {"type": "text", "text": "What?"}],
        }
    ]


def responses_image(url: str) -> list[Any]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is in this picture?"},
                {"type": "input_image", "image_url": url, "detail": "auto"},
            ],
        }
    ]


def sent(emulator: EmulatorServer) -> int:
    return len(emulator.recorder.for_path(CHAT_PATH)) + len(emulator.recorder.for_path(FILES_PATH))


def unique(data: bytes) -> bytes:
    """`data` with a unique tail: the client uploads the same content once in a while, and
    each test must see its own upload."""
    return data + uuid.uuid4().hex.encode()


def pdf() -> tuple[bytes, str]:
    data = unique(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return data, "data:application/pdf;base64," + base64.b64encode(data).decode()


def png() -> tuple[bytes, str]:
    data = unique(PNG)
    return data, "data:image/png;base64," + base64.b64encode(data).decode()


def uploaded(emulator: EmulatorServer, n: int) -> list[dict[str, Any]]:
    """The blobs of the last `n` uploads, and checks that the last chat request's user message
    refers to `n` files."""
    content = emulator.recorder.for_path(CHAT_PATH)[-1].json()["messages"][-1]["content"]
    assert [a["type"] for a in content["attachments"]] == ["file"] * n
    return [r.json()["blob"] for r in emulator.recorder.for_path(FILES_PATH)[-n:]]


# -- through every dialect, to the emulator ------------------------------------------------------


@pytest.fixture
async def openai_sdk(gateway_at: Any) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key="unused",
        base_url=gateway_at.base_url + "/v1",
        http_client=gateway_at.http_client,
        max_retries=0,
    ) as sdk:
        yield sdk


@pytest.fixture
async def anthropic_sdk(gateway_at: Any) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key="unused",
        base_url=gateway_at.base_url,
        http_client=gateway_at.http_client,
        max_retries=0,
    ) as sdk:
        yield sdk


async def test_chat_image_url_reaches_raycast_as_an_upload(
    openai_sdk: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    data, url = png()
    done = await openai_sdk.chat.completions.create(model=MODEL, messages=chat_image(url))
    (blob,) = uploaded(emulator, 1)
    assert (blob["content_type"], blob["byte_size"]) == ("image/png", len(data))
    assert blob["filename"] in (done.choices[0].message.content or "")
    sent_text = emulator.recorder.for_path(CHAT_PATH)[-1].json()["messages"][-1]["content"]
    assert sent_text["text"] == "What is in this picture?"


async def test_chat_file_part_with_a_pdf_streams_an_answer_naming_it(
    openai_sdk: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    part = {"type": "file", "file": {"file_data": pdf()[1], "filename": "report.pdf"}}
    stream = await openai_sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": [{"type": "text", "text": "Summarise."}, part]}],  # type: ignore[list-item]
        stream=True,
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    (blob,) = uploaded(emulator, 1)
    assert (blob["filename"], blob["content_type"]) == ("report.pdf", "application/pdf")
    assert "report.pdf" in text


async def test_responses_input_image_and_input_file_reach_raycast(
    openai_sdk: openai.AsyncOpenAI, emulator: EmulatorServer
) -> None:
    content: Any = [
        {"type": "input_text", "text": "Compare."},
        {"type": "input_image", "image_url": png()[1], "detail": "auto"},
        {"type": "input_file", "file_data": pdf()[1], "filename": "notes.pdf"},
    ]
    done = await openai_sdk.responses.create(
        model=MODEL, input=[{"role": "user", "content": content}], store=False
    )
    image, document = uploaded(emulator, 2)
    assert image["content_type"] == "image/png"
    assert (document["filename"], document["content_type"]) == ("notes.pdf", "application/pdf")
    assert "notes.pdf" in done.output_text


async def test_anthropic_image_and_document_reach_raycast(
    anthropic_sdk: anthropic.AsyncAnthropic, emulator: EmulatorServer
) -> None:
    image = {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(png()[0]).decode(),
        },
    }
    document = {
        "type": "document",
        "title": "contract.pdf",
        "source": {
            "type": "base64",
            "media_type": "application/pdf",
            "data": base64.b64encode(pdf()[0]).decode(),
        },
    }
    done = await anthropic_sdk.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {"role": "user", "content": [image, document, {"type": "text", "text": "Read."}]}
        ],  # type: ignore[list-item]
    )
    image_blob, pdf_blob = uploaded(emulator, 2)
    assert image_blob["content_type"] == "image/png"
    assert (pdf_blob["filename"], pdf_blob["content_type"]) == ("contract.pdf", "application/pdf")
    text = "".join(b.text for b in done.content if b.type == "text")
    assert "contract.pdf" in text


async def test_an_allowed_host_is_fetched_and_uploaded(
    upstream_options: dict[str, Any], emulator: EmulatorServer, files_at: str
) -> None:
    async with gateway(upstream_options, attachment_hosts=("127.0.0.1",)) as sdk:
        done = await sdk.openai.chat.completions.create(
            model=MODEL, messages=chat_image(files_at + "/cat.png")
        )
    (blob,) = uploaded(emulator, 1)
    assert (blob["filename"], blob["content_type"], blob["byte_size"]) == (
        "cat.png",
        "image/png",
        len(SERVED),
    )
    assert "cat.png" in (done.choices[0].message.content or "")


async def test_a_stored_response_names_its_files_and_continues(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    async with gateway(upstream_options) as sdk:
        first = await sdk.openai.responses.create(model=MODEL, input=responses_image(png()[1]))
        items = await sdk.openai.responses.input_items.list(first.id)
        second = await sdk.openai.responses.create(
            model=MODEL, input="And the colour?", previous_response_id=first.id
        )
    (item,) = items.data
    said = item.content[0].text  # type: ignore[union-attr]
    assert said.startswith("What is in this picture?\n[attached: attachment.png (image/png")
    assert second.output_text
    history = emulator.recorder.for_path(CHAT_PATH)[-1].json()["messages"]
    assert "[attached: attachment.png" in history[0]["content"]["text"]


# -- failures of the upload and of the model ----------------------------------------------------


async def test_an_image_for_a_model_without_vision_is_a_400_naming_models_with_it(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    before = sent(emulator)
    async with gateway(upstream_options) as sdk:
        with pytest.raises(openai.BadRequestError) as chat:
            await sdk.openai.chat.completions.create(
                model="raycast-ray1", messages=chat_image(PNG_URL)
            )
        with pytest.raises(anthropic.BadRequestError) as messages:
            await sdk.anthropic.messages.create(
                model="raycast-ray1",
                max_tokens=10,
                messages=anthropic_image(
                    {
                        "type": "base64",
                        "media_type": "image/png",
                        "data": base64.b64encode(PNG).decode(),
                    }
                ),
            )
    assert chat.value.code == "invalid_attachment"
    assert "vision" in chat.value.message and "openai-gpt-4o-mini" in chat.value.message
    assert "vision" in messages.value.message
    assert sent(emulator) == before


@pytest.mark.parametrize("fault", ["malformed", "500"])
async def test_an_upload_that_fails_is_a_502_and_nothing_is_asked(
    upstream_options: dict[str, Any], emulator: EmulatorServer, fault: str
) -> None:
    chats = len(emulator.recorder.for_path(CHAT_PATH))
    name = f"report @fault:{fault}.pdf"
    part: Any = {"type": "file", "file": {"file_data": pdf()[1], "filename": name}}
    async with gateway(upstream_options) as sdk:
        with pytest.raises(openai.InternalServerError) as chat:
            await sdk.openai.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": [part]}]
            )
        with pytest.raises(openai.InternalServerError) as responses:
            await sdk.openai.responses.create(
                model=MODEL,
                input=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_file", "file_data": pdf()[1], "filename": name}
                        ],
                    }
                ],
            )
        with pytest.raises(anthropic.InternalServerError) as messages:
            await sdk.anthropic.messages.create(
                model=MODEL,
                max_tokens=10,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "title": name,
                                "source": {
                                    "type": "base64",
                                    "media_type": "application/pdf",
                                    "data": base64.b64encode(pdf()[0]).decode(),
                                },
                            }
                        ],
                    }
                ],
            )
    for error in (chat.value, responses.value):
        assert error.status_code == 502 and error.code == "upload_failed"
        assert f"Uploading the attachment '{name}'" in error.message
    assert messages.value.status_code == 502
    assert "Uploading the attachment" in messages.value.message
    assert len(emulator.recorder.for_path(CHAT_PATH)) == chats


# -- refused in each dialect's shape, with nothing sent ------------------------------------------


async def test_an_http_url_is_refused_by_default_saying_to_send_a_data_url(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    before = sent(emulator)
    async with gateway(upstream_options) as sdk:
        with pytest.raises(openai.BadRequestError) as chat:
            await sdk.openai.chat.completions.create(
                model=MODEL, messages=chat_image("https://example.com/cat.png")
            )
        with pytest.raises(openai.BadRequestError) as responses:
            await sdk.openai.responses.create(
                model=MODEL, input=responses_image("http://example.com/cat.png")
            )
        with pytest.raises(anthropic.BadRequestError) as messages:
            await sdk.anthropic.messages.create(
                model=MODEL,
                max_tokens=10,
                messages=anthropic_image({"type": "url", "url": "https://example.com/cat.png"}),
            )
    assert chat.value.code == "invalid_attachment"
    assert chat.value.param == "messages.0.content.1.image_url"
    assert "example.com" in chat.value.message and "data URL" in chat.value.message
    assert responses.value.param == "input[0].content[1].image_url"
    assert "data URL" in responses.value.message
    body: Any = messages.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "example.com" in body["error"]["message"] and "base64" in body["error"]["message"]
    assert sent(emulator) == before


async def test_a_malformed_data_url_is_a_400_in_each_shape(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    before = sent(emulator)
    async with gateway(upstream_options) as sdk:
        with pytest.raises(openai.BadRequestError) as chat:
            await sdk.openai.chat.completions.create(
                model=MODEL, messages=chat_image("data:image/png;base64,not base64!")
            )
        with pytest.raises(openai.BadRequestError) as responses:
            await sdk.openai.responses.create(
                model=MODEL, input=responses_image("data:image/png;base64")
            )
        with pytest.raises(anthropic.BadRequestError) as messages:
            await sdk.anthropic.messages.create(
                model=MODEL,
                max_tokens=10,
                messages=anthropic_image(
                    {"type": "base64", "media_type": "image/png", "data": "%%%"}
                ),
            )
    assert "base64 data is not valid" in chat.value.message
    assert "must be a data URL" in responses.value.message
    assert "not valid" in messages.value.message
    assert sent(emulator) == before


async def test_an_oversize_file_is_a_400_naming_the_limit(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    before = sent(emulator)
    big = "data:image/png;base64," + base64.b64encode(BIG).decode()
    async with gateway(upstream_options, max_attachment_bytes=1000) as sdk:
        with pytest.raises(openai.BadRequestError) as chat:
            await sdk.openai.chat.completions.create(model=MODEL, messages=chat_image(big))
        with pytest.raises(openai.BadRequestError) as responses:
            await sdk.openai.responses.create(model=MODEL, input=responses_image(big))
        with pytest.raises(anthropic.BadRequestError) as messages:
            data = base64.b64encode(BIG).decode()
            await sdk.anthropic.messages.create(
                model=MODEL,
                max_tokens=10,
                messages=anthropic_image(
                    {"type": "base64", "media_type": "image/png", "data": data}
                ),
            )
    for message in (chat.value.message, responses.value.message, messages.value.message):
        assert f"is {human_size(len(BIG))}; the limit is 1000 bytes" in message
    assert chat.value.param == "messages.0.content.1.image_url"
    assert sent(emulator) == before


def test_the_body_limit_admits_the_largest_file_as_base64() -> None:
    settings = GatewaySettings()
    as_base64 = -(-settings.max_attachment_bytes * 4 // 3)
    assert settings.max_body_size == DEFAULT_MAX_BODY_SIZE > as_base64
    bigger = GatewaySettings.from_env(max_attachment_bytes=50 * 1024 * 1024)
    assert bigger.max_body_size == body_size_for(50 * 1024 * 1024) > 50 * 1024 * 1024 * 4 // 3


# -- the URL policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hosts", "expected"),
    [
        ("https://example.com/a.png", ("example.com",), True),
        ("https://EXAMPLE.com/a.png", ("example.com",), True),
        ("https://example.com:8443/a.png", ("example.com:8443",), True),
        ("https://example.com:9999/a.png", ("example.com:8443",), False),
        ("https://img.example.com/a.png", ("*.example.com",), True),
        ("https://evilexample.com/a.png", ("*.example.com",), False),
        ("https://example.com.evil.net/a.png", ("example.com",), False),
        ("https://user@example.com@evil.net/a.png", ("example.com",), False),
        ("ftp://example.com/a.png", ("example.com",), False),
        ("https://example.com/a.png", (), False),
        ("https://[::1/a.png", ("::1",), False),
    ],
)
def test_allowed_hosts(url: str, hosts: tuple[str, ...], expected: bool) -> None:
    assert allowed(url, hosts) is expected


def _chat(url: str) -> Any:
    body = b'{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": '
    return openai_chat.parse(body + b'{"url": "' + url.encode() + b'"}}]}]}')


async def test_an_allowed_host_is_fetched_following_its_redirects(files_at: str) -> None:
    settings = GatewaySettings(attachment_hosts=("127.0.0.1",))
    for path in ("/cat.png", "/moved"):
        chat = await resolve(_chat(files_at + path), settings)
        (part,) = chat.messages[0]["content"]
        fetched = part[ATTACHMENT_PART]
        assert (fetched.filename, fetched.content_type, fetched.data) == (
            "cat.png",
            "image/png",
            SERVED,
        )


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/big.png", "the limit is"),
        ("/away", "redirects to elsewhere.invalid"),
        ("/missing.png", "HTTP 404"),
    ],
)
async def test_fetch_failures_are_400s_naming_the_host(
    files_at: str, path: str, words: str
) -> None:
    settings = GatewaySettings(attachment_hosts=("127.0.0.1",), max_attachment_bytes=1000)
    with pytest.raises(BadRequest) as caught:
        await resolve(_chat(files_at + path), settings)
    assert caught.value.info.status == 400
    assert words in caught.value.info.message
    assert caught.value.info.param == "messages.0.content.0.image_url"
    if "redirect" not in words and "limit" not in words:
        assert "127.0.0.1" in caught.value.info.message


async def test_a_host_that_does_not_answer_in_time_is_a_400(
    files_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts, never answers
    try:
        monkeypatch.setattr(server_attachments, "FETCH_TIMEOUT", 0.2)
        port = listener.getsockname()[1]
        settings = GatewaySettings(attachment_hosts=("127.0.0.1",))
        with pytest.raises(BadRequest) as caught:
            await resolve(_chat(f"http://127.0.0.1:{port}/slow.png"), settings)
        assert "took longer" in caught.value.info.message
    finally:
        listener.close()


async def test_a_file_at_the_limit_fits_in_the_body_limit(
    upstream_options: dict[str, Any], emulator: EmulatorServer
) -> None:
    settings = GatewaySettings()
    data = unique(PNG)
    data += b"\0" * (settings.max_attachment_bytes - len(data))
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    async with gateway(upstream_options) as sdk:
        await sdk.openai.chat.completions.create(model=MODEL, messages=chat_image(url))
    (blob,) = uploaded(emulator, 1)
    assert blob["byte_size"] == settings.max_attachment_bytes
