"""Attachments through RaycastClient and AsyncRaycastClient over a scripted Raycast and storage:
the metadata request, the PUT, the chat's `content.attachments`, the cache, and every failure
ending in a typed error with no chat request sent. The same flow over the emulator is in
test_client_attachments.py."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from raycast_ai import (
    AsyncRaycastClient,
    Attachment,
    AttachmentError,
    AuthenticationError,
    Raycast,
    RaycastClient,
    UploadError,
)
from raycast_ai.client import UploadCache
from raycast_ai.protocol.signing import verify_v2

SECRET = "test-secret"
TOKEN = "secret-token-123"
BASE = "http://raycast.test"
CATALOG = {
    "models": [
        {
            "id": "openai-gpt-4o-mini",
            "model": "gpt-4o-mini",
            "provider": "openai",
            "abilities": {"vision": {"supported": True}},
        },
        {
            "id": "perplexity-sonar",
            "model": "sonar",
            "provider": "perplexity",
            "abilities": {"vision": {"supported": False}},
        },
    ],
    "default_models": {"chat": "openai-gpt-4o-mini"},
}
ANSWER = (
    b'data: {"text":"Seen"}\n\n'
    b'data: {"text":"","finish_reason":"stop","usage":{"input_tokens":3,"output_tokens":1}}\n\n'
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.4\n" + b"stream of a document\n" * 500
KINDS = ("sync", "async")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """Raycast's three routes and the storage's PUT; `files`, `put` and `chat` script each
    answer, every request is kept (with its body read) in `seen`."""

    def __init__(self) -> None:
        self.seen: list[tuple[httpx2.Request, bytes]] = []
        self.files: Callable[[dict[str, Any]], httpx2.Response] = self.record
        self.put: Callable[[httpx2.Request, bytes], httpx2.Response] = self.store
        self.stored: dict[str, bytes] = {}
        self.count = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        self.seen.append((request, body))
        path = request.url.path
        if path == "/api/v1/ai/models":
            return httpx2.Response(200, json=CATALOG)
        if path == "/api/v1/ai/files":
            return self.files(json.loads(body))
        if request.method == "PUT":
            return self.put(request, body)
        return httpx2.Response(200, content=ANSWER, headers={"content-type": "text/event-stream"})

    async def handle_async(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        return self(request)

    def record(self, metadata: dict[str, Any]) -> httpx2.Response:
        self.count += 1
        blob = metadata["blob"]
        key = f"key{self.count}"
        return httpx2.Response(
            200,
            json={
                "id": f"file-{self.count}",
                "key": key,
                "direct_upload": {
                    "url": f"https://store.test/{key}?signature=abc",
                    "headers": {
                        "Content-Type": blob["content_type"],
                        "Content-MD5": blob["checksum"],
                        "Content-Disposition": f'inline; filename="{blob["filename"]}"',
                    },
                },
            },
        )

    def store(self, request: httpx2.Request, body: bytes) -> httpx2.Response:
        self.stored[request.url.path] = body
        return httpx2.Response(200)

    def requests(self, method: str, path: str | None = None) -> list[tuple[httpx2.Request, bytes]]:
        return [
            (r, b)
            for r, b in self.seen
            if r.method == method and (path is None or r.url.path == path)
        ]

    @property
    def chats(self) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.requests("POST", "/api/v1/ai/chat_completions")]

    @property
    def metadata(self) -> list[tuple[httpx2.Request, bytes]]:
        return self.requests("POST", "/api/v1/ai/files")


class Driver:
    """One interface over both clients: `complete` blocks for the sync one."""

    def __init__(self, kind: str, backend: Backend, tmp_path: Path, **kwargs: Any) -> None:
        self.kind = kind
        self.sleeps: list[float] = []
        self.kwargs: dict[str, Any] = {
            "token": TOKEN,
            "signing_secret": SECRET,
            "base_url": BASE,
            "home": tmp_path,
            **kwargs,
        }
        self.backend = backend

    async def complete(self, messages: Any, **kwargs: Any) -> str:
        if self.kind == "sync":
            transport = httpx2.MockTransport(self.backend)
            with RaycastClient(transport=transport, sleep=self.sleeps.append, **self.kwargs) as c:
                return c.complete(messages, **kwargs).text

        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        transport_a = httpx2.MockTransport(self.backend.handle_async)
        async with AsyncRaycastClient(transport=transport_a, sleep=sleep, **self.kwargs) as a:
            return (await a.complete(messages, **kwargs)).text


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=KINDS)
def driver(
    request: pytest.FixtureRequest, backend: Backend, tmp_path: Path, clock: Clock
) -> Driver:
    return Driver(request.param, backend, tmp_path, uploads=UploadCache(clock=clock))


def question(text: str = "What is this?") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@pytest.mark.anyio
async def test_an_image_is_uploaded_then_named_in_the_chat(
    driver: Driver, backend: Backend
) -> None:
    text = await driver.complete(
        question(), attachments=[Attachment.from_bytes(PNG, filename="shot.png")]
    )
    assert text == "Seen"
    ((files, metadata_bytes),) = backend.metadata
    metadata = json.loads(metadata_bytes)
    (chat,) = backend.chats
    assert metadata == {
        "chat_id": chat["thread_id"],
        "blob": {
            "filename": "shot.png",
            "byte_size": len(PNG),
            "checksum": base64.b64encode(hashlib.md5(PNG).digest()).decode(),
            "content_type": "image/png",
        },
    }
    # Signed and authorised as chat is.
    assert files.headers["authorization"] == f"Bearer {TOKEN}"
    assert verify_v2(
        SECRET,
        files.headers["x-raycast-timestamp"],
        files.headers["x-raycast-deviceid"],
        metadata_bytes,
        files.headers["x-raycast-signature-v2"],
    )
    ((put, put_body),) = backend.requests("PUT")
    assert str(put.url) == "https://store.test/key1?signature=abc"
    assert put_body == PNG
    assert put.headers["content-md5"] == metadata["blob"]["checksum"]
    assert put.headers["content-type"] == "image/png"
    assert put.headers["content-length"] == str(len(PNG))
    assert "transfer-encoding" not in put.headers
    assert not [h for h in put.headers if h == "authorization" or h.startswith("x-raycast")]
    user = chat["messages"][-1]
    assert user == {
        "author": "user",
        "content": {"text": "What is this?", "attachments": [{"id": "file-1", "type": "file"}]},
    }


@pytest.mark.anyio
async def test_a_file_on_disk_goes_up_in_chunks_with_parts_in_the_messages(
    driver: Driver, backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF * 100)  # 1 MB: several chunks
    attachment = Attachment.from_path(path)
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Sum up"}, attachment.part()]}
    ]
    await driver.complete(messages, model="perplexity-sonar")  # documents need no vision
    ((put, body),) = backend.requests("PUT")
    assert body == PDF * 100 and put.headers["content-type"] == "application/pdf"
    assert backend.chats[0]["messages"][-1]["content"]["attachments"] == [
        {"id": "file-1", "type": "file"}
    ]


@pytest.mark.anyio
async def test_the_same_content_goes_up_once_until_the_cache_expires(
    driver: Driver, backend: Backend, clock: Clock
) -> None:
    await driver.complete(question(), attachments=[PNG])
    await driver.complete(question("And now?"), attachments=[PNG, PNG])
    assert len(backend.metadata) == 1
    assert [c["messages"][-1]["content"]["attachments"] for c in backend.chats] == [
        [{"id": "file-1", "type": "file"}],
        [{"id": "file-1", "type": "file"}, {"id": "file-1", "type": "file"}],
    ]
    clock.now += 601
    await driver.complete(question(), attachments=[PNG])
    assert len(backend.metadata) == 2
    assert backend.chats[-1]["messages"][-1]["content"]["attachments"][0]["id"] == "file-2"


@pytest.mark.anyio
async def test_another_account_never_reuses_an_upload(
    backend: Backend, tmp_path: Path, clock: Clock
) -> None:
    cache = UploadCache(clock=clock)
    await Driver("sync", backend, tmp_path, uploads=cache).complete(question(), attachments=[PNG])
    other = Driver("sync", backend, tmp_path, uploads=cache, token="another-token-456")
    await other.complete(question(), attachments=[PNG])
    assert len(backend.metadata) == 2


@pytest.mark.anyio
async def test_an_image_for_a_model_without_vision_names_models_with_it(
    driver: Driver, backend: Backend
) -> None:
    with pytest.raises(AttachmentError, match=r"perplexity-sonar.*shot\.png.*openai-gpt-4o-mini"):
        await driver.complete(
            question(),
            model="perplexity-sonar",
            attachments=[Attachment.from_bytes(PNG, filename="shot.png")],
        )
    assert not backend.metadata and not backend.chats


@pytest.mark.anyio
async def test_a_refused_metadata_request_is_mapped_and_says_the_upload_failed(
    driver: Driver, backend: Backend
) -> None:
    backend.files = lambda _: httpx2.Response(401, json={"error": {"message": "Expired"}})
    with pytest.raises(AuthenticationError, match=r"Uploading the attachment.*not sent.*Expired"):
        await driver.complete(question(), attachments=[PNG])
    assert not backend.chats and not backend.requests("PUT")


@pytest.mark.anyio
async def test_a_busy_files_route_is_retried_by_the_policy(
    driver: Driver, backend: Backend
) -> None:
    answers = [httpx2.Response(503, json={"error": {"message": "busy"}})]
    backend.files = lambda m: answers.pop() if answers else backend.record(m)
    assert await driver.complete(question(), attachments=[PNG]) == "Seen"
    assert len(backend.metadata) == 2 and len(driver.sleeps) == 1 and len(backend.chats) == 1


@pytest.mark.anyio
async def test_a_busy_storage_gets_the_whole_file_again(
    driver: Driver, backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(PDF * 100)
    answers = [httpx2.Response(503, text="SlowDown")]
    backend.put = lambda r, b: answers.pop() if answers else backend.store(r, b)
    assert await driver.complete(question(), attachments=[path]) == "Seen"
    assert [b for _, b in backend.requests("PUT")] == [PDF * 100, PDF * 100]
    assert len(backend.metadata) == 2 and len(driver.sleeps) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reply",
    [{"id": "x"}, {"id": "x", "direct_upload": {"url": "http://", "headers": {}}}],
)
async def test_a_malformed_reply_is_an_upload_error(
    driver: Driver, backend: Backend, reply: dict[str, Any]
) -> None:
    backend.files = lambda _: httpx2.Response(200, json=reply)
    with pytest.raises(UploadError, match=r"Uploading the attachment .attachment\.png.*not sent"):
        await driver.complete(question(), attachments=[PNG])
    assert not backend.chats and len(backend.metadata) == 1


@pytest.mark.anyio
async def test_a_refused_put_is_an_upload_error_and_nothing_is_asked(
    driver: Driver, backend: Backend
) -> None:
    backend.put = lambda *_: httpx2.Response(400, text="<Error><Code>BadDigest</Code></Error>")
    with pytest.raises(UploadError, match=r"HTTP 400.*BadDigest") as raised:
        await driver.complete(question(), attachments=[PNG])
    assert "not sent" in str(raised.value)
    assert not backend.chats and len(backend.requests("PUT")) == 1


@pytest.mark.anyio
async def test_a_failed_upload_is_never_remembered(driver: Driver, backend: Backend) -> None:
    backend.put = lambda *_: httpx2.Response(403)
    with pytest.raises(UploadError):
        await driver.complete(question(), attachments=[PNG])
    backend.put = backend.store
    await driver.complete(question(), attachments=[PNG])
    assert len(backend.metadata) == 2 and len(backend.chats) == 1


@pytest.mark.anyio
async def test_a_file_that_vanishes_before_its_upload_is_an_error(
    driver: Driver, backend: Backend, tmp_path: Path
) -> None:
    path = tmp_path / "gone.txt"
    path.write_text("soon gone")
    attachment = Attachment.from_path(path)
    path.unlink()
    with pytest.raises(AttachmentError, match=r"gone\.txt"):
        await driver.complete(question(), attachments=[attachment])
    assert not backend.chats


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("data:image/png;base64,@@@", "base64"),
        (b"x" * 21_000_001, "limit is 20 MB"),
        ("/no/such/file.png", "Cannot read the attachment /no/such/file.png"),
        ("https://example.com/shot.png", "not fetched from URLs"),
    ],
)
async def test_what_cannot_be_attached_fails_before_any_request(
    driver: Driver, backend: Backend, value: object, says: str
) -> None:
    with pytest.raises(AttachmentError, match=says):
        await driver.complete(question(), attachments=[value])
    assert not backend.metadata and not backend.chats


@pytest.mark.anyio
async def test_attachments_need_a_user_message(driver: Driver, backend: Backend) -> None:
    with pytest.raises(AttachmentError, match="needs a user message"):
        await driver.complete([{"role": "system", "content": "Be brief"}], attachments=[PNG])


def test_the_provider_takes_attachments(backend: Backend, monkeypatch: Any) -> None:
    mock = httpx2.MockTransport(backend)
    real = RaycastClient.__init__

    def with_mock(self: RaycastClient, **kwargs: Any) -> None:
        real(self, **{**kwargs, "transport": mock, "uploads": UploadCache()})

    monkeypatch.setattr(RaycastClient, "__init__", with_mock)
    pieces = Raycast.create_completion(
        "openai-gpt-4o-mini",
        question(),
        stream=False,
        auth=TOKEN,
        base_url=BASE,
        attachments=[PNG],
    )
    assert list(pieces) == ["Seen"]
    assert backend.chats[0]["messages"][-1]["content"]["attachments"][0]["type"] == "file"


def test_the_async_provider_takes_attachments(backend: Backend, monkeypatch: Any) -> None:
    mock = httpx2.MockTransport(backend.handle_async)
    real = AsyncRaycastClient.__init__

    def with_mock(self: AsyncRaycastClient, **kwargs: Any) -> None:
        real(self, **{**kwargs, "transport": mock, "uploads": UploadCache()})

    monkeypatch.setattr(AsyncRaycastClient, "__init__", with_mock)

    async def collect() -> list[str]:
        generator = Raycast.create_async_generator(
            "openai-gpt-4o-mini", question(), auth=TOKEN, base_url=BASE, attachments=[PNG]
        )
        return [piece async for piece in generator]

    assert anyio.run(collect) == ["Seen"]
    assert len(backend.metadata) == 1 and len(backend.requests("PUT")) == 1


def test_the_cache_is_bounded_and_expires() -> None:
    clock = Clock()
    cache = UploadCache(ttl=10, size=2, clock=clock)
    keys = [UploadCache.key(BASE, TOKEN, str(n)) for n in range(3)]
    for n, key in enumerate(keys):
        cache.put(key, f"id{n}")
    assert (len(cache), cache.get(keys[0]), cache.get(keys[2])) == (2, None, "id2")
    clock.now += 10
    assert cache.get(keys[2]) is None and len(cache) == 1
