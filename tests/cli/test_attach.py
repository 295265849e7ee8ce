"""Files from the command line: `ask -a FILE` (repeatable, `-a -` from stdin) and `/attach` in
chat reach the emulator as uploads referred to by the user message; a missing or unreadable file
is one line naming it, exit code 2, before any request; the log names each file, never its
bytes."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.history import LOG_FILE, History
from raycast_ai.protocol.files import FILES_PATH
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def requests(emulator: EmulatorServer) -> int:
    return len(emulator.recorder.for_path(CHAT_PATH)) + len(emulator.recorder.for_path(FILES_PATH))


def last_user(emulator: EmulatorServer) -> dict[str, object]:
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    content: dict[str, object] = body["messages"][-1]["content"]
    return content


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A PNG of this test's own (the client uploads the same content once in a while)."""
    path = tmp_path / "cat.png"
    path.write_bytes(PNG + uuid.uuid4().hex.encode())
    return path


def test_ask_with_an_image_uploads_it_and_the_answer_mentions_it(
    invoke: Invoke, emulator: EmulatorServer, image: Path, home: Path
) -> None:
    result = invoke("ask", "-a", str(image), "what is in this picture?")
    assert result.exit_code == 0, result.stderr
    content = last_user(emulator)
    assert content["text"] == "what is in this picture?"
    (entry,) = content["attachments"]  # type: ignore[misc]
    assert entry["type"] == "file"
    upload = emulator.recorder.for_path(FILES_PATH)[-1].json()
    assert upload["blob"]["filename"] == "cat.png"
    assert upload["blob"]["content_type"] == "image/png"
    assert upload["blob"]["byte_size"] == image.stat().st_size
    assert "cat.png" in result.stdout
    with History.open(home) as history:
        (exchange,) = history.recent()
    size = image.stat().st_size
    assert exchange.files == [{"name": "cat.png", "type": "image/png", "size": size}]
    with sqlite3.connect(home / LOG_FILE) as db:
        stored = db.execute("SELECT attachments FROM exchanges").fetchone()[0]
    assert json.loads(stored) == exchange.files  # the name, type and size; no bytes


def test_several_files_and_one_from_stdin(
    invoke: Invoke, emulator: EmulatorServer, image: Path
) -> None:
    result = invoke("-a", str(image), "-a", "-", "compare these", input=PDF + uuid.uuid4().bytes)
    assert result.exit_code == 0, result.stderr
    assert len(last_user(emulator)["attachments"]) == 2  # type: ignore[arg-type]
    blobs = [r.json()["blob"] for r in emulator.recorder.for_path(FILES_PATH)[-2:]]
    assert {b["content_type"] for b in blobs} >= {"application/pdf"}
    assert last_user(emulator)["text"] == "compare these"  # stdin was the file, not the prompt


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: str(tmp / "missing.png"), "No such file or directory"),
        (lambda tmp: str(tmp), "Is a directory"),
    ],
)
def test_a_missing_or_unreadable_file_is_one_line_before_any_request(
    invoke: Invoke, emulator: EmulatorServer, tmp_path: Path, make: object, words: str
) -> None:
    before = requests(emulator)
    path = make(tmp_path)  # type: ignore[operator]
    result = invoke("ask", "-a", path, "what is this?")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: Cannot read the attachment {path}: {words}."
    ]
    assert "Traceback" not in result.output
    assert requests(emulator) == before


def test_an_empty_stdin_and_two_stdins_are_usage_errors(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    before = requests(emulator)
    empty = invoke("ask", "-a", "-", "what?", input=b"")
    assert empty.exit_code == 2 and "stdin was empty" in empty.stderr
    twice = invoke("ask", "-a", "-", "-a", "-", "what?", input=b"x")
    assert twice.exit_code == 2 and "Only one attachment" in twice.stderr
    assert requests(emulator) == before


def test_an_image_for_a_model_without_vision_is_refused_naming_models_that_can(
    invoke: Invoke, emulator: EmulatorServer, image: Path
) -> None:
    before = requests(emulator)
    result = invoke("ask", "-m", "raycast-ray1", "-a", str(image), "what is this?")
    assert result.exit_code == 3
    assert "vision" in result.stderr and "openai-gpt-4o-mini" in result.stderr
    assert requests(emulator) == before


def test_attach_in_chat_goes_with_the_next_message_and_stays_in_the_conversation(
    invoke: Invoke, emulator: EmulatorServer, image: Path, tmp_path: Path
) -> None:
    lines = [
        f"/attach {tmp_path / 'nope.png'}",
        f"/attach {image}",
        "/attach",
        "what is this?",
        "and its colour?",
    ]
    result = invoke("chat", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr
    assert f"Error: Cannot read the attachment {tmp_path / 'nope.png'}" in result.stderr
    shown = f"cat.png (image/png, {image.stat().st_size} bytes)"
    assert f"Attached {shown}" in result.stderr
    assert shown in result.stdout  # the /attach listing
    chats = emulator.recorder.for_path(CHAT_PATH)[-2:]
    first, second = (c.json()["messages"] for c in chats)
    assert first[-1]["content"]["text"] == "what is this?"
    assert len(first[-1]["content"]["attachments"]) == 1
    # The next question still shows the model the picture, as the earlier user message.
    assert second[0]["content"]["attachments"] == first[-1]["content"]["attachments"]
    assert "attachments" not in second[-1]["content"]


def test_a_piped_image_as_a_real_process(env: dict[str, str], emulator: EmulatorServer) -> None:
    environ = {**os.environ, **env}
    data = PNG + uuid.uuid4().hex.encode()
    done = subprocess.run(
        [sys.executable, "-m", "raycast_ai", "-a", "-", "what is this?"],
        input=data,
        capture_output=True,
        env=environ,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    blob = emulator.recorder.for_path(FILES_PATH)[-1].json()["blob"]
    assert (blob["filename"], blob["content_type"], blob["byte_size"]) == (
        "attachment.png",
        "image/png",
        len(data),
    )
    assert "attachment.png" in done.stdout.decode()
