"""The emulator's files flow over a real loopback socket: the metadata route (gated like chat),
the storage PUT (length and MD5 checked, no credentials), and chat requests naming files."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx2
import pytest

from raycast_ai import Attachment
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.app import EmulatorConfig
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.files import FILES_PATH, Blob, upload_body, uploaded_part
from raycast_ai.protocol.request import CHAT_PATH, ChatOptions, chat_headers

from .support import DEVICE_ID, chunks, signed, texts

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 188  # 48 KB
THREAD = "5D1F0E0C-0000-4000-8000-000000000001"


def blob(data: bytes = PNG, filename: str = "shot.png", kind: str = "image/png") -> Blob:
    return Attachment.from_bytes(data, filename=filename, content_type=kind).blob


def files_headers(body: bytes, **changes: Any) -> dict[str, str]:
    options: dict[str, Any] = {
        "token": EMULATOR_TOKEN,
        "secret": EMULATOR_SECRET,
        "device_id": DEVICE_ID,
        "timestamp": int(time.time()),
        **changes,
    }
    return chat_headers(body, **options)


def metadata(http: httpx2.Client, described: Blob, **changes: Any) -> httpx2.Response:
    body = upload_body(THREAD, described)
    return http.post(FILES_PATH, content=body, headers=files_headers(body, **changes))


def put(http: httpx2.Client, record: dict[str, Any], data: bytes, **extra: str) -> httpx2.Response:
    direct = record["direct_upload"]
    return http.put(direct["url"], content=data, headers={**direct["headers"], **extra})


def ask(http: httpx2.Client, file_ids: list[str], prompt: str = "What is it?") -> httpx2.Response:
    parts = [{"type": "text", "text": prompt}, *map(uploaded_part, file_ids)]
    request, headers = signed(
        [{"role": "user", "content": parts}], options=ChatOptions(thread_id=THREAD)
    )
    return http.post(CHAT_PATH, content=request.body, headers=headers)


def test_the_metadata_route_answers_the_blob_record(http: httpx2.Client) -> None:
    reply = metadata(http, blob())
    assert reply.status_code == 200
    record = reply.json()
    assert set(record) == {
        "id",
        "key",
        "filename",
        "content_type",
        "metadata",
        "service_name",
        "byte_size",
        "checksum",
        "created_at",
        "direct_upload",
    }
    checksum = base64.b64encode(hashlib.md5(PNG).digest()).decode()
    assert (record["filename"], record["byte_size"], record["checksum"]) == (
        "shot.png",
        len(PNG),
        checksum,
    )
    assert len(record["key"]) == 32 and record["service_name"] == "ai_production"
    direct = record["direct_upload"]
    assert direct["url"].startswith(str(http.base_url).rstrip("/") + "/storage/")
    assert direct["headers"] == {
        "Content-Type": "image/png",
        "Content-MD5": checksum,
        "Content-Disposition": "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png",
    }


@pytest.mark.parametrize(
    ("changes", "status"),
    [({"token": None}, 401), ({"token": "wrong"}, 401), ({"secret": "not-the-secret"}, 401)],
)
def test_the_metadata_route_needs_the_token_and_the_signature(
    http: httpx2.Client, changes: dict[str, Any], status: int
) -> None:
    reply = metadata(http, blob(), **changes)
    assert reply.status_code == status and "message" in reply.json()["error"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"blob": {}}, "chat_id"),
        ({"chat_id": THREAD}, "blob must be an object"),
        (
            {
                "chat_id": THREAD,
                "blob": {"filename": "a", "byte_size": 1, "checksum": "x", "content_type": "a/b"},
            },
            "checksum",
        ),
        (
            {
                "chat_id": THREAD,
                "blob": {"filename": "a", "byte_size": -1, "checksum": "x", "content_type": "a/b"},
            },
            "byte_size",
        ),
    ],
)
def test_a_malformed_metadata_body_is_refused(
    http: httpx2.Client, body: dict[str, Any], says: str
) -> None:
    raw = json.dumps(body).encode()
    reply = http.post(FILES_PATH, content=raw, headers=files_headers(raw))
    assert reply.status_code == 422 and says in reply.json()["error"]["message"]


def test_the_bytes_go_up_without_credentials_then_the_chat_names_them(
    http: httpx2.Client, emulator: EmulatorServer
) -> None:
    record = metadata(http, blob()).json()
    stored = put(http, record, PNG)
    assert stored.status_code == 200
    assert stored.headers["etag"] == f'"{hashlib.md5(PNG).hexdigest()}"'
    reply = ask(http, [record["id"]])
    assert reply.status_code == 200
    text = texts(chunks(reply.content))
    assert text == "I see shot.png (image/png, 47 KB). " + "".join(
        answer_chunks("What is it?", "openai-gpt-4o-mini", 12)
    )
    (put_request,) = [r for r in emulator.recorder.requests if r.path.endswith(record["key"])]
    assert put_request.method == "PUT" and put_request.body == PNG


@pytest.mark.parametrize(
    ("mangle", "status", "code"),
    [
        (lambda h, d: (h, d[:-1]), 400, "IncompleteBody"),
        (lambda h, d: (h, d[:-1] + b"!"), 400, "BadDigest"),
        (lambda h, d: ({**h, "Content-MD5": "A" * 22 + "=="}, d), 400, "InvalidDigest"),
        (lambda h, d: ({**h, "Content-Type": "text/plain"}, d), 403, "SignatureDoesNotMatch"),
        (lambda h, d: ({**h, "Authorization": f"Bearer {EMULATOR_TOKEN}"}, d), 400, "auth"),
    ],
)
def test_the_storage_refuses_what_the_record_does_not_describe(
    http: httpx2.Client, mangle: Any, status: int, code: str
) -> None:
    record = metadata(http, blob()).json()
    headers, data = mangle(record["direct_upload"]["headers"], PNG)
    reply = http.put(record["direct_upload"]["url"], content=data, headers=headers)
    assert reply.status_code == status and code in reply.text
    assert reply.headers["content-type"] == "application/xml"
    refused = ask(http, [record["id"]])  # never uploaded
    assert refused.status_code == 400 and "never uploaded" in refused.json()["error"]["message"]


def test_an_unknown_upload_key_is_not_found(http: httpx2.Client) -> None:
    reply = http.put("/storage/ai_production/" + "0" * 32, content=b"x")
    assert reply.status_code == 404 and "NoSuchUpload" in reply.text


def test_a_chat_naming_an_unknown_file_is_refused(http: httpx2.Client) -> None:
    reply = ask(http, ["no-such-file"])
    assert reply.status_code == 400
    assert "'no-such-file' was not found" in reply.json()["error"]["message"]


@pytest.mark.parametrize(("fault", "status"), [("500", 500), ("429", 429), ("401", 401)])
def test_a_fault_in_the_filename_fails_the_metadata_route(
    http: httpx2.Client, fault: str, status: int
) -> None:
    reply = metadata(http, blob(filename=f"shot @fault:{fault}.png"))
    assert reply.status_code == status


def test_the_malformed_fault_answers_no_upload_address(http: httpx2.Client) -> None:
    body = upload_body(THREAD, blob())
    headers = {**files_headers(body), "X-Emulator-Fault": "malformed"}
    reply = http.post(FILES_PATH, content=body, headers=headers)
    assert reply.status_code == 200 and "direct_upload" not in reply.json()


def test_a_config_switch_fails_every_upload() -> None:
    with (
        EmulatorServer(EmulatorConfig(files_fault="503")) as server,
        httpx2.Client(base_url=server.base_url, trust_env=False) as http,
    ):
        assert metadata(http, blob()).status_code == 503
        assert server.recorder.last is not None
        assert server.recorder.last.outcome == "fault:503"


def test_without_strict_attachments_unknown_files_are_let_through() -> None:
    with (
        EmulatorServer(EmulatorConfig(strict_attachments=False)) as server,
        httpx2.Client(base_url=server.base_url, trust_env=False) as http,
    ):
        assert ask(http, ["no-such-file"]).status_code == 200
