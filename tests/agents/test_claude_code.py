"""Claude Code (`claude -p`) on the gateway's /v1/messages, over the scripted emulator: a question,
a file made by its Bash tool, and both again through `raycast-ai launch claude`."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    FILE_TASK,
    KEY,
    Stack,
    check_file_task,
    check_question,
    launch_command,
    launch_env,
    nonce,
    run_agent,
)

# Claude Code asks this one for adaptive thinking with an effort (output_config) and sends its
# environment and reminders as role "system" messages.
MODEL = "anthropic-claude-opus-4-8"
# One it asks for a thinking budget, with reminders inside the user turn and the tool result.
OTHER_MODEL = "anthropic-claude-sonnet-4"
PERMISSIONS = ("--allowedTools", "Bash")


def claude_env(env: dict[str, str], stack: Stack) -> dict[str, str]:
    return {**env, "ANTHROPIC_BASE_URL": stack.base_url, "ANTHROPIC_AUTH_TOKEN": KEY}


def test_a_question_prints_the_emulators_answer(
    agent_env: dict[str, str], stack: Stack, workdir: Path
) -> None:
    tag = nonce()
    command = ["claude", "-p", f"What is a monad? {tag}", "--model", MODEL]
    ran = run_agent(command, claude_env(agent_env, stack), workdir, stack)
    check_question(ran, stack, tag)
    (post,) = [e for e in ran.exchanges if e.method == "POST"]
    assert post.path == "/v1/messages?beta=true"
    # What the script and the references rely on: a stream, and Bash taking a `command`.
    body = post.json()
    assert (body["model"], body["stream"]) == (MODEL, True)
    tools = {t["name"]: t for t in body["tools"]}
    assert tools["Bash"]["input_schema"]["required"] == ["command"]


@pytest.mark.parametrize("model", [MODEL, OTHER_MODEL])
def test_a_file_task_runs_bash_and_the_output_goes_back(
    agent_env: dict[str, str], stack: Stack, workdir: Path, model: str
) -> None:
    tag = nonce()
    prompt = f"Please {FILE_TASK} created.txt {tag}"
    command = ["claude", "-p", prompt, "--model", model, *PERMISSIONS]
    ran = run_agent(command, claude_env(agent_env, stack), workdir, stack)
    check_file_task(ran, stack, tag, workdir)
    assert len([e for e in ran.exchanges if e.method == "POST"]) == 2, ran.explain()


@pytest.mark.slow  # the gateway starts twice, as a subprocess
def test_launch_claude_answers_and_makes_the_file(
    agent_env: dict[str, str], stack: Stack, workdir: Path, tmp_path: Path
) -> None:
    env = launch_env(agent_env, stack.emulator, tmp_path)
    tag = nonce()
    ran = run_agent(
        launch_command("--model", MODEL, "claude", "-p", f"Hello {tag}"), env, workdir, None
    )
    check_question(ran, stack, tag)
    tag = nonce()
    prompt = f"Please {FILE_TASK} created.txt {tag}"
    ran = run_agent(
        launch_command("--model", MODEL, "claude", "-p", prompt, *PERMISSIONS), env, workdir, None
    )
    check_file_task(ran, stack, tag, workdir)
