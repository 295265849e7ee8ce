"""`ask -f FILE`: text files fenced with their names before the question; bad files refused
before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from raycast_ai.cli.include import MAX_BYTES
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke


def sent_prompt(emulator: EmulatorServer) -> str:
    text: str = emulator.recorder.for_path(CHAT_PATH)[-1].json()["messages"][-1]["content"]["text"]
    return text


def test_two_files_are_fenced_with_their_names_before_the_question(
    invoke: Invoke, emulator: EmulatorServer, tmp_path: Path
) -> None:
    code = tmp_path / "app.py"
    code.write_text("def main():\n    return 1\n")
    notes = tmp_path / "NOTES.md"
    notes.write_text("# Notes\n\n```sh\nmake test\n```")  # a fence inside, no final newline
    result = invoke("-f", str(code), "--file", str(notes), "what do these do? @chunks:2")
    assert result.exit_code == 0, result.stderr
    assert sent_prompt(emulator) == (
        f"```{code}\ndef main():\n    return 1\n```\n\n"
        f"````{notes}\n# Notes\n\n```sh\nmake test\n```\n````\n\n"
        "what do these do? @chunks:2"
    )


def test_piped_text_comes_after_the_files_and_before_the_question(
    invoke: Invoke, emulator: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    result = invoke("-f", str(tmp_path / "a.txt"), "compare @chunks:2", input="beta\n")
    assert result.exit_code == 0, result.stderr
    assert (
        sent_prompt(emulator) == f"```{tmp_path / 'a.txt'}\nalpha\n```\n\nbeta\n\ncompare @chunks:2"
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "no such file or directory."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file (not UTF-8)"),
        (b"caf\xe9 latin-1", "not a text file (not UTF-8)"),
        (b"x" * (MAX_BYTES + 1), "1.0 MB, more than the 1 MB -f takes"),
    ],
    ids=["missing", "binary", "latin-1", "too-big"],
)
def test_a_bad_file_is_one_line_naming_it_before_any_request(
    invoke: Invoke, emulator: EmulatorServer, tmp_path: Path, content: bytes | None, said: str
) -> None:
    good = tmp_path / "good.txt"
    good.write_text("fine\n")
    bad = tmp_path / "bad.bin"
    if content is not None:
        bad.write_bytes(content)
    before = len(emulator.recorder.for_path(CHAT_PATH))
    result = invoke("-f", str(good), "-f", str(bad), "explain")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: -f {bad}: {said}")
    assert len(result.stderr.splitlines()) == 1
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before


def test_a_folder_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("-f", str(tmp_path), "explain")
    assert result.exit_code == 3
    assert result.stderr == f"Error: -f {tmp_path}: is a folder; give a file.\n"
