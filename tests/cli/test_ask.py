"""`raycast-ai ask` and `raycast-ai "PROMPT"`, in-process and as a subprocess."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import time
from pathlib import Path

import pexpect

from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.history import LOG_FILE, History
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Fake, Invoke, Run

DEFAULT = "openai-gpt-4o-mini"


def expected(prompt: str, model: str = DEFAULT, chunks: int = 12) -> str:
    return "".join(answer_chunks(prompt, model, chunks))


def test_a_prompt_alone_is_asked_and_the_answer_printed_as_sent(run: Run, home: Path) -> None:
    done = run("what is a monad?")
    assert done.code == 0, done.stderr
    answer = expected("what is a monad?")
    # Exactly the model's text, plus the one newline the answer lacked.
    assert not answer.endswith("\n")
    assert done.stdout == answer + "\n"
    assert done.stderr == ""


def test_piped_text_comes_first_then_the_prompt(run: Run, emulator: EmulatorServer) -> None:
    done = run("write a commit message @chunks:3", input="diff --git a/x b/x\n+1\n")
    assert done.code == 0, done.stderr
    prompt = "diff --git a/x b/x\n+1\n\nwrite a commit message @chunks:3"
    assert done.stdout == expected(prompt, chunks=3) + "\n"
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["messages"][-1]["content"]["text"] == prompt


def test_piped_text_alone_is_a_question(invoke: Invoke) -> None:
    result = invoke(input="just stdin @chunks:2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected("just stdin @chunks:2", chunks=2) + "\n"


def test_json_prints_one_object(invoke: Invoke) -> None:
    result = invoke("ask", "--json", "hello @chunks:4")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["text"] == expected("hello @chunks:4", chunks=4)
    assert payload["model"] == DEFAULT
    assert payload["finish_reason"] == "stop"
    assert payload["usage"]["output_tokens"] > 0
    assert payload["conversation_id"] == payload["conversation_id"].upper()
    assert len(payload["conversation_id"]) == 36


def test_no_stream_prints_the_same_text(invoke: Invoke) -> None:
    result = invoke("--no-stream", "hello @chunks:5")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected("hello @chunks:5", chunks=5) + "\n"


def test_model_system_and_temperature_reach_the_request(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    result = invoke(
        "-m", "claude-sonnet-4-20250514", "-s", "be terse", "--temperature", "0.3", "hi"
    )
    assert result.exit_code == 0, result.stderr
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["model"] == "claude-sonnet-4-20250514"
    assert body["provider"] == "anthropic"
    assert body["additional_system_instructions"] == "be terse"
    assert body["temperature"] == 0.3


def test_reasoning_goes_to_stderr_only_when_asked_for(invoke: Invoke) -> None:
    quiet = invoke("-m", "o3", "think @chunks:2")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == ""
    shown = invoke("-m", "o3", "--show-reasoning", "think @chunks:2")
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == quiet.stdout
    assert shown.stderr.strip().endswith("…")


def test_continue_sends_the_earlier_exchange(run: Run, emulator: EmulatorServer) -> None:
    first = run("--json", "first question @chunks:3")
    first_id = json.loads(first.stdout)["conversation_id"]
    second = run("-c", "--json", "and a second one @chunks:2")
    assert second.code == 0, second.stderr
    assert json.loads(second.stdout)["conversation_id"] == first_id
    body = emulator.recorder.for_path(CHAT_PATH)[-1].json()
    assert body["thread_id"] == first_id
    assert [(m["author"], m["content"]["text"]) for m in body["messages"]] == [
        ("user", "first question @chunks:3"),
        ("assistant", expected("first question @chunks:3", chunks=3)),
        ("user", "and a second one @chunks:2"),
    ]


def test_cid_continues_a_given_conversation_by_prefix(invoke: Invoke) -> None:
    one = json.loads(invoke("--json", "one @chunks:2").stdout)["conversation_id"]
    invoke("--json", "two @chunks:2")
    again = invoke("--cid", one[:8].lower(), "--json", "three @chunks:2")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["conversation_id"] == one


def test_continuing_without_a_log_says_so(invoke: Invoke) -> None:
    result = invoke("-c", "anything")
    assert result.exit_code == 3
    assert result.stderr == "Error: There is no logged conversation to continue yet.\n"
    unknown = invoke("--cid", "NOPE", "anything")
    assert unknown.exit_code == 3
    assert "raycast-ai logs" in unknown.stderr


def test_exchanges_are_logged_in_a_private_file(invoke: Invoke, home: Path) -> None:
    invoke("logged @chunks:2")
    path = home / LOG_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    with History(path) as history:
        [row] = history.recent()
    assert row.prompt == "logged @chunks:2"
    assert row.response == expected("logged @chunks:2", chunks=2)
    assert row.status == "complete"
    assert row.finish_reason == "stop"
    assert row.input_tokens is not None
    assert row.output_tokens is not None


def test_no_log_and_logs_off_keep_exchanges_out(invoke: Invoke, home: Path) -> None:
    invoke("--no-log", "secret @chunks:2")
    invoke("logs", "off")
    invoke("also secret @chunks:2")
    invoke("logs", "on")
    invoke("kept @chunks:2")
    with History(home / LOG_FILE) as history:
        assert [row.prompt for row in history.recent(None)] == ["kept @chunks:2"]


def test_extract_prints_the_first_code_block(invoke: Invoke, fake: Fake) -> None:
    fake("Here:\n\n```bash\nls -l\nwc -l *.py\n```\n\nand\n```\nsecond\n```\n")
    result = invoke("-x", "a command")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "ls -l\nwc -l *.py\n"


def test_extract_without_a_code_block_prints_the_answer(invoke: Invoke, fake: Fake) -> None:
    fake("no code here")
    result = invoke("--extract", "a command")
    assert result.stdout == "no code here\n"


def test_json_and_extract_do_not_mix(invoke: Invoke) -> None:
    result = invoke("--json", "-x", "hi")
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_an_empty_prompt_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("ask", input="")
    assert result.exit_code == 2
    assert "Nothing to ask" in result.stderr


def test_an_unknown_flag_is_a_usage_error(run: Run) -> None:
    done = run("--frobnicate", "hi")
    assert done.code == 2
    assert "No such option" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_on_a_terminal_exits_130_and_keeps_what_was_shown(
    env: dict[str, str], home: Path
) -> None:
    environ = {**os.environ, **env, "TERM": "xterm"}
    prompt = "long @delay:0.2 @chunks:50"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", prompt],
        env=environ,
        dimensions=(30, 120),
        encoding="utf-8",
        timeout=15,
    )
    try:
        child.expect_exact("data:")
        time.sleep(0.3)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")
    assert "\x1b[?25h" in (child.before or "")  # the cursor is shown again
    with History(home / LOG_FILE) as history:
        [row] = history.recent()
    assert row.error == "interrupted"
    assert row.response
    assert expected(prompt, chunks=50).startswith(row.response)


QUESTION = "How do I read a JSON file in Python?"


def test_a_markdown_answer_is_plain_text_in_a_pipe(run: Run) -> None:
    done = run(QUESTION)
    assert done.code == 0
    assert "\x1b[" not in done.stdout
    assert done.stdout.startswith("## Reading JSON in Python\n")
    assert "```python\n" in done.stdout


def test_extract_prints_the_code_of_a_real_answer(run: Run) -> None:
    done = run("-x", QUESTION)
    assert done.code == 0
    assert done.stdout == (
        "import json\nfrom pathlib import Path\n\n"
        'data = json.loads(Path("config.json").read_text(encoding="utf-8"))\n'
    )


def test_a_markdown_answer_is_rendered_on_a_terminal(env: dict[str, str]) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", QUESTION],
        env={**os.environ, **env, "TERM": "xterm"},
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=15,
    )
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before or "")
    assert child.exitstatus == 0
    assert "Reading JSON in Python" in shown
    assert "##" not in shown and "```" not in shown  # rendered, not printed as source
    assert "json.loads" in shown
    assert "nested arrays too" in shown


def test_a_stall_before_the_answer_fails_after_the_timeout_without_retrying(
    run: Run, emulator: EmulatorServer
) -> None:
    """`--timeout 1` is the longest wait: no retry starts once it has passed."""
    before = len(emulator.recorder.for_path(CHAT_PATH))
    done = run("--timeout", "1", "hi @fault:stall-before @stall:5")
    assert done.code != 0
    assert "did not answer in time" in done.stderr
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before + 1


def test_a_retry_is_said_not_waited_in_silence(run: Run) -> None:
    done = run("hi @fault:flaky-429 @retry-after:1")
    assert done.code == 0
    assert "rate limited by Raycast, retrying in 1.0 s" in done.stderr


def test_a_spinner_turns_on_a_terminal_until_the_first_token(env: dict[str, str]) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "raycast_ai", "--no-md", "hi @first:1 @chunks:2"],
        env={**os.environ, **env, "TERM": "xterm"},
        dimensions=(24, 100),
        encoding="utf-8",
        timeout=15,
    )
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    shown = child.before or ""
    assert child.exitstatus == 0
    spun = shown.index("waiting for Raycast")
    erased = shown.index("\r\x1b[K", spun)
    assert erased < shown.index(expected("hi @first:1 @chunks:2", chunks=2)[:10])


def test_reasoning_effort_reaches_the_request(invoke: Invoke, emulator: EmulatorServer) -> None:
    result = invoke("-m", "o3", "-r", "high", "think @chunks:2")
    assert result.exit_code == 0, result.stderr
    assert emulator.recorder.for_path(CHAT_PATH)[-1].json()["reasoning_effort"] == "high"


def test_reasoning_effort_the_model_does_not_take_is_a_clear_error(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder.for_path(CHAT_PATH))
    no_reasoning = invoke("-m", DEFAULT, "-r", "high", "hi")
    assert no_reasoning.exit_code != 0
    assert f"{DEFAULT} does not reason" in no_reasoning.stderr
    assert "o3" in no_reasoning.stderr
    unknown = invoke("-m", "o3", "--reasoning", "extreme", "hi")
    assert unknown.exit_code != 0
    assert "low, medium, high" in unknown.stderr
    assert len(emulator.recorder.for_path(CHAT_PATH)) == before
