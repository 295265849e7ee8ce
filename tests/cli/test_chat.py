"""`raycast-ai chat`: input rules, the line-based fallback, and the REPL in a pseudo-terminal."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from raycast_ai.cli.chat import complete, needs_more, piped_lines
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.history import LOG_FILE, History
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke


@pytest.mark.parametrize(
    ("typed", "more", "message"),
    [
        ("hello", False, "hello"),
        ("one \\", True, None),
        ("one \\\ntwo", False, "one \ntwo"),
        ('"""', True, None),
        ('"""\nfirst\n\nsecond', True, None),
        ('"""\nfirst\n\nsecond\n"""', False, "first\n\nsecond"),
        ('"""inline"""', False, "inline"),
    ],
)
def test_multi_line_input(typed: str, more: bool, message: str | None) -> None:
    assert needs_more(typed) is more
    if message is not None:
        assert complete(typed) == message


def test_piped_lines_follow_the_same_rules() -> None:
    typed = 'a\nb \\\nc\n"""\nd\n\ne\n"""\n\n   \nunfinished \\\n'
    assert list(piped_lines(io.StringIO(typed))) == ["a", "b \nc", "d\n\ne", "unfinished \\"]


def test_a_piped_chat_keeps_one_conversation(
    invoke: Invoke, emulator: EmulatorServer, home: Path
) -> None:
    script = "first @chunks:2\n/model gpt-4o\nsecond @chunks:2\n/system be brief\n/bogus\n"
    result = invoke("chat", input=script)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "".join(answer_chunks("first @chunks:2", "openai-gpt-4o-mini", 2))
        + "\n"
        + "".join(answer_chunks("second @chunks:2", "openai-gpt-4o", 2))
        + "\n"
    )
    assert "Model: GPT-4o (openai-gpt-4o)" in result.stderr
    assert "Unknown command /bogus" in result.stderr
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["model"] == "gpt-4o"
    assert next(m["content"]["text"] for m in body["messages"]) == "first @chunks:2"
    with History(home / LOG_FILE) as history:
        rows = history.recent()
    assert len({row.conversation_id for row in rows}) == 1


def test_new_starts_another_conversation_and_errors_do_not_end_the_chat(invoke: Invoke) -> None:
    script = "one @chunks:2\n/new\ntwo @fault:403\nthree @chunks:2\n/exit\nnever sent\n"
    result = invoke("chat", input=script)
    assert result.exit_code == 0, result.stderr
    assert "Error: Raycast refused access (HTTP 403)" in result.stderr
    assert "never" not in result.stdout
    listed = json.loads(invoke("logs", "--json", "-n", "0").stdout)
    assert [row["prompt"] for row in listed] == [
        "one @chunks:2",
        "two @fault:403",
        "three @chunks:2",
    ]
    assert listed[0]["conversation_id"] != listed[1]["conversation_id"]
    assert listed[1]["conversation_id"] == listed[2]["conversation_id"]


def test_chat_continues_a_logged_conversation(invoke: Invoke, emulator: EmulatorServer) -> None:
    first = json.loads(invoke("--json", "before @chunks:2").stdout)
    result = invoke("chat", "-c", input="after @chunks:2\n")
    assert result.exit_code == 0, result.stderr
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["thread_id"] == first["conversation_id"]
    assert [m["author"] for m in body["messages"]] == ["user", "assistant", "user"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_the_repl_in_a_terminal(env: dict[str, str], home: Path) -> None:
    environ = {**os.environ, **env, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "chat"],
        env=environ,
        dimensions=(40, 200),
        encoding="utf-8",
        timeout=15,
    )
    try:
        child.expect_exact("/help for commands")
        child.expect_exact(">")
        child.sendline("hello @chunks:4")
        child.expect_exact("data:")  # every emulator answer has it in its first piece
        child.expect_exact(">")
        # A slow answer, stopped with Ctrl-C once it has started.
        child.sendline("long @delay:0.2 @chunks:50")
        child.expect_exact("data:")
        time.sleep(0.3)
        child.sendintr()
        child.expect_exact("(stopped)")
        child.expect_exact(">")
        child.sendline("again @chunks:3")
        child.expect_exact("data:")
        child.expect_exact(">")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    with History(home / LOG_FILE) as history:
        rows = history.recent()
    assert [row.prompt for row in rows] == [
        "hello @chunks:4",
        "long @delay:0.2 @chunks:50",
        "again @chunks:3",
    ]
    stopped = rows[1]
    assert stopped.error == "interrupted"
    full = "".join(answer_chunks(stopped.prompt, "openai-gpt-4o-mini", 50))
    assert stopped.response
    assert full.startswith(stopped.response)
    assert stopped.response != full
    assert rows[2].status == "complete"
    assert (home / "chat_history").stat().st_mode & 0o777 == 0o600


PROMPT = r"openai-gpt-4o-mini [0-9A-F]{8}>"  # the model and the conversation, then ">"


def test_ctrl_c_stops_an_answer_keeps_the_conversation_and_garbles_nothing(
    env: dict[str, str], home: Path, emulator: EmulatorServer
) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "chat", "--no-md"],
        env={**os.environ, **env, "TERM": "xterm"},
        dimensions=(30, 120),
        encoding="utf-8",
        timeout=20,
    )
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect_exact("Ctrl-D to leave.")
        child.expect(PROMPT)
        child.sendline("long @delay:0.2 @chunks:60")
        child.expect_exact("data:")
        time.sleep(0.4)
        child.sendintr()
        child.expect_exact("(stopped)")
        child.expect(PROMPT)
        child.sendline("and now?")
        child.expect_exact(answer_chunks("and now?", "openai-gpt-4o-mini", 12)[0][:8])
        child.expect(PROMPT)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert "Traceback" not in seen.getvalue()
    assert "^C" not in seen.getvalue()  # the terminal does not echo it into the answer
    with History(home / LOG_FILE) as history:
        first, second = history.recent(2)
    assert first.error == "interrupted" and first.response
    assert second.error is None
    # The second question was asked after the partial answer, which the model saw.
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert [m["author"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"]["text"] == first.response


def test_retry_asks_the_last_question_again_in_place_of_its_answer(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    result = invoke("chat", input="first\nsecond\n/retry\n")
    assert result.exit_code == 0, result.stderr
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    texts = [m["content"]["text"] for m in body["messages"]]
    assert texts[0] == "first" and texts[-1] == "second"
    assert len(texts) == 3  # first, its answer, second: the answer retried is gone


def test_save_writes_the_conversation_as_markdown(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "talk.md"
    result = invoke("chat", input=f"hello there\n/save {target}\n")
    assert result.exit_code == 0, result.stderr
    saved = target.read_text(encoding="utf-8")
    assert "## You\n\nhello there\n" in saved
    answer = "".join(answer_chunks("hello there", "openai-gpt-4o-mini", 12))
    assert f"## Answer\n\n{answer.rstrip()}\n" in saved
    assert f"Saved the conversation to {target}" in result.stderr


def test_copy_puts_the_last_answer_on_the_clipboard(env: dict[str, str], tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    copied = tmp_path / "copied.txt"
    fake = tools / "pbcopy"
    fake.write_text(f"#!/bin/sh\ncat > {copied}\n")
    fake.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "raycast_ai", "chat"],
        input="hi @chunks:3\n/copy\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env, "PATH": f"{tools}:{os.environ['PATH']}"},
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert copied.read_text() == "".join(answer_chunks("hi @chunks:3", "openai-gpt-4o-mini", 3))
    assert "Copied the last answer." in done.stderr


def test_copy_without_a_clipboard_tool_says_what_to_install(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "raycast_ai", "chat"],
        input="hi @chunks:2\n/copy\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env, "PATH": str(tmp_path)},
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "No clipboard tool found; install one of pbcopy, wl-copy, xclip, xsel." in done.stderr


def test_a_terminal_chat_spins_retries_and_saves(
    env: dict[str, str], tmp_path: Path, emulator: EmulatorServer
) -> None:
    """Typed at a real terminal: the spinner turns until the first token, /retry asks the last
    question again in place of its answer, /save writes the conversation."""
    target = tmp_path / "talk.md"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "chat", "--no-md"],
        env={**os.environ, **env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        dimensions=(30, 120),
        encoding="utf-8",
        timeout=20,
    )
    child.logfile_read = seen = io.StringIO()
    question = "slow one @first:0.8 @chunks:2"
    answer = "".join(answer_chunks(question, "openai-gpt-4o-mini", 2))
    try:
        child.expect_exact("Ctrl-D to leave.")
        child.expect(PROMPT)
        child.sendline(question)
        child.expect_exact("waiting for Raycast")
        child.expect_exact(answer[:12])
        child.expect(PROMPT)
        child.sendline("/retry")
        child.expect_exact("waiting for Raycast")
        child.expect_exact(answer[:12])
        child.expect(PROMPT)
        child.sendline(f"/save {target}")
        child.expect_exact("Saved the conversation")
        child.expect(PROMPT)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert "Traceback" not in seen.getvalue()
    saved = target.read_text(encoding="utf-8")
    assert saved.count("## You") == 1  # the retried answer replaced the first one
    assert f"## You\n\n{question}\n" in saved
    assert answer.rstrip() in saved
    sent = [r.json() for r in emulator.recorder.for_path(CHAT_PATH)][-2:]
    assert [len(body["messages"]) for body in sent] == [1, 1]


def test_each_line_is_handed_over_as_soon_as_enter_takes_it(tmp_path: Path) -> None:
    """`accepted` has the line before the prompt gives it back (while it is taken down, the
    question is already on its way), the same line, once; nothing for an empty one."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from raycast_ai.cli.chat import prompts

    seen: list[tuple[str, str]] = []
    with create_pipe_input() as typed, create_app_session(input=typed, output=DummyOutput()):
        typed.send_text('hello\rone \\\rtwo\r\r"""\nsome\r"""\r/help\r')
        for line in prompts(tmp_path / "history", accepted=lambda t: seen.append(("took", t))):
            seen.append(("gave", line))
            if line == "/help":
                typed.close()
    assert seen == [
        ("took", "hello"),
        ("gave", "hello"),
        ("took", "one \ntwo"),
        ("gave", "one \ntwo"),
        ("took", "some"),
        ("gave", "some"),
        ("took", "/help"),
        ("gave", "/help"),
    ]
    assert (tmp_path / "history").read_text().count("\n# ") == 4  # the history has them all


def _terminal_chat(env: dict[str, str]) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "chat", "--no-md"],
        env={**os.environ, **env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        dimensions=(30, 120),
        encoding="utf-8",
        timeout=20,
    )


def test_questions_sent_from_the_enter_key_answer_whole_and_in_order(
    env: dict[str, str], home: Path, emulator: EmulatorServer
) -> None:
    """Each question goes out while the prompt is being taken down: its answer still comes
    after the line typed, whole, before the next prompt, and in the conversation's order."""
    model = "openai-gpt-4o-mini"
    questions = ["first @chunks:5", "second \\\nline @chunks:4", "third @chunks:6"]
    asked = ["first @chunks:5", "second \nline @chunks:4", "third @chunks:6"]
    child = _terminal_chat(env)
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect_exact("Ctrl-D to leave.")
        for question in questions:
            child.expect(PROMPT)
            for line in question.split("\n"):
                child.send(line + "\r")
            if question is questions[1]:
                child.expect(PROMPT)
                child.sendline("/system be brief")  # a command between questions
        child.expect(PROMPT)
        child.send("\x1b[A")  # Up: the last question again, from the history
        child.expect_exact(asked[-1])
        child.sendintr()  # Ctrl-C at the prompt clears the line: nothing is sent
        child.expect(PROMPT)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    screen = seen.getvalue()
    assert "Traceback" not in screen
    at = 0
    for question in asked:
        answer = "".join(answer_chunks(question, model, int(question[-1])))
        typed = screen.index(question.split("\n")[-1], at)
        shown = screen.index(answer.replace("\n", "\r\n"), typed)
        at = shown + len(answer)
        assert re.search(PROMPT, screen[at:]), "the prompt comes back after the answer"
    with History(home / LOG_FILE) as history:
        rows = history.recent()
    assert [row.prompt for row in rows] == asked
    for row in rows:
        assert row.response == "".join(answer_chunks(row.prompt, model, int(row.prompt[-1])))
        assert row.status == "complete"
    sent = [r.json() for r in emulator.recorder.for_path(CHAT_PATH)][-3:]
    assert [len(body["messages"]) for body in sent] == [1, 3, 5]


def test_ctrl_c_before_the_first_token_stops_the_wait_and_the_next_answer_is_its_own(
    env: dict[str, str], home: Path
) -> None:
    child = _terminal_chat(env)
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect_exact("Ctrl-D to leave.")
        child.expect(PROMPT)
        child.sendline("never mind @first:1.5 @chunks:2")
        child.expect_exact("waiting for Raycast")
        child.sendintr()
        child.expect_exact("(stopped)")
        child.expect(PROMPT)
        child.sendline("then this @chunks:2")
        child.expect_exact("".join(answer_chunks("then this @chunks:2", "openai-gpt-4o-mini", 2)))
        child.expect(PROMPT)
        time.sleep(1.6)  # the question given up gets its first token now: nothing shows
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    screen = seen.getvalue()
    assert child.exitstatus == 0
    assert "Traceback" not in screen and "^C" not in screen
    spun = screen.index("waiting for Raycast")
    assert screen.index("\r\x1b[K", spun) < screen.index("(stopped)")  # the spinner is gone
    given_up = answer_chunks("never mind @first:1.5 @chunks:2", "openai-gpt-4o-mini", 2)
    assert given_up[0][:10] not in screen
    with History(home / LOG_FILE) as history:
        stopped, answered = history.recent(2)
    assert stopped.error == "interrupted" and not stopped.response
    assert answered.status == "complete"
