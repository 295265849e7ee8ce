"""Codex CLI (`codex exec`) on the gateway's /v1/responses, over the scripted emulator: a question,
a file made by its exec_command tool, and both again through `raycast-ai launch codex`."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    CODEX_QUIET,
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

MODEL = "openai-gpt-4o-mini"
KEY_ENV = "RAYCAST_AI_TEST_KEY"
# No approvals and no sandbox: the container may not allow Codex's, and the task is the test's.
EXEC = ("exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox")


def codex_env(env: dict[str, str], stack: Stack, tmp_path: Path) -> dict[str, str]:
    """A CODEX_HOME whose config.toml selects the gateway as a 'raycast' provider."""
    home = tmp_path / "codex-home"
    home.mkdir()
    provider = f"""\
model_provider = "raycast"
model = "{MODEL}"
{CODEX_QUIET}
[model_providers.raycast]
name = "Raycast AI"
base_url = "{stack.base_url}/v1"
wire_api = "responses"
env_key = "{KEY_ENV}"
"""
    (home / "config.toml").write_text(provider, encoding="utf-8")
    return {**env, "CODEX_HOME": str(home), KEY_ENV: KEY}


def test_a_question_prints_the_emulators_answer(
    agent_env: dict[str, str], stack: Stack, workdir: Path, tmp_path: Path
) -> None:
    tag = nonce()
    command = ["codex", *EXEC, f"What is a monad? {tag}"]
    ran = run_agent(command, codex_env(agent_env, stack, tmp_path), workdir, stack)
    check_question(ran, stack, tag)
    (post,) = [e for e in ran.exchanges if e.method == "POST"]
    assert post.path == "/v1/responses"
    # What the script and the references rely on: a stream, and exec_command taking a `cmd`.
    body = post.json()
    assert (body["model"], body["stream"], body["store"]) == (MODEL, True, False)
    tools = {t.get("name"): t for t in body["tools"]}
    assert tools["exec_command"]["parameters"]["required"] == ["cmd"]


def test_a_file_task_runs_a_command_and_the_output_goes_back(
    agent_env: dict[str, str], stack: Stack, workdir: Path, tmp_path: Path
) -> None:
    tag = nonce()
    command = ["codex", *EXEC, f"Please {FILE_TASK} created.txt {tag}"]
    ran = run_agent(command, codex_env(agent_env, stack, tmp_path), workdir, stack)
    check_file_task(ran, stack, tag, workdir)
    assert len([e for e in ran.exchanges if e.method == "POST"]) == 2, ran.explain()


@pytest.mark.slow  # the gateway starts twice, as a subprocess
def test_launch_codex_answers_and_makes_the_file(
    agent_env: dict[str, str], stack: Stack, workdir: Path, tmp_path: Path
) -> None:
    env = launch_env(agent_env, stack.emulator, tmp_path)
    tag = nonce()
    command = launch_command("--model", MODEL, "codex", *EXEC, f"Hello {tag}")
    check_question(run_agent(command, env, workdir, None), stack, tag)
    tag = nonce()
    command = launch_command("--model", MODEL, "codex", *EXEC, f"Please {FILE_TASK} {tag}")
    check_file_task(run_agent(command, env, workdir, None), stack, tag, workdir)
