"""The `llm` plugin, through the `llm` command as a user runs it (in its own venv, with raycast-ai
installed from this working tree), against the session's emulator, with a temporary
LLM_USER_PATH and data folder."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from raycast_ai.emulator import EMULATOR_TOKEN
from raycast_ai.emulator.recorder import RecordedRequest
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.files import FILES_PATH
from raycast_ai.protocol.request import CHAT_PATH, MODELS_PATH

from .conftest import emulator_env

pytestmark = pytest.mark.slow  # each needs its venv (made once, minutes the first time)

MODEL = "raycast/openai-gpt-4o-mini"
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2219bc40000000049454e44ae426082"
)


@dataclass
class Llm:
    bin: Path
    env: dict[str, str]
    folder: Path

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            [str(self.bin / "llm"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.folder,
            timeout=60,
        )
        if check:
            assert done.returncode == 0, done.stderr
            return done.stdout
        assert done.returncode != 0, done.stdout
        return done.stderr

    def logs(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = json.loads(self.run("logs", "--json", "-n", "0"))
        return entries


@pytest.fixture
def llm(venvs: Callable[[str], Path], emulator: EmulatorServer, tmp_path: Path) -> Llm:
    """`llm` with the emulator's token in RAYCAST_TOKEN and nothing else of the user's."""
    env = emulator_env(
        emulator,
        tmp_path / "home",
        LLM_USER_PATH=str(tmp_path / "llm"),
        RAYCAST_TOKEN=EMULATOR_TOKEN,
    )
    return Llm(venvs("llm"), env, tmp_path)


def nonce() -> str:
    return f"n{uuid.uuid4().hex[:10]}"


def chats(emulator: EmulatorServer, mark: str) -> list[RecordedRequest]:
    requests = emulator.recorder.requests
    return [r for r in requests if r.path == CHAT_PATH and mark.encode() in r.body]


def model_fetches(emulator: EmulatorServer) -> int:
    return len(emulator.recorder.for_path(MODELS_PATH))


def test_llm_models_lists_the_catalog_and_fetches_it_only_on_the_first_start(
    llm: Llm, emulator: EmulatorServer
) -> None:
    before = model_fetches(emulator)
    first = llm.run("models", "list")
    assert model_fetches(emulator) == before + 1  # no catalog kept yet: fetched once, kept
    for model_id in ("openai-gpt-4o-mini", "openai_o1-o3", "groq-openai/gpt-oss-20b"):
        assert f"raycast/{model_id}" in first
    again = llm.run("models", "list")
    llm.run("models", "list", "--async")
    assert model_fetches(emulator) == before + 1  # later starts read the kept catalog
    assert again == first
    refreshed = llm.run("raycast", "models", "--refresh")
    assert model_fetches(emulator) == before + 2
    assert "raycast/openai_o1-o3" in refreshed and "raycast/raycast-ray1" in refreshed
    options = llm.run("models", "list", "--options", "-m", "raycast/openai_o1-o3")
    assert "reasoning_effort" in options and "low, medium, high" in options
    assert "temperature" in options


def test_the_first_start_without_a_token_offers_the_default_model(
    llm: Llm, emulator: EmulatorServer
) -> None:
    del llm.env["RAYCAST_TOKEN"]
    before = model_fetches(emulator)
    listed = [line for line in llm.run("models", "list").splitlines() if "raycast/" in line]
    assert listed == ["Raycast: raycast/openai-gpt-4o-mini"]
    assert model_fetches(emulator) == before
    error = llm.run("-m", MODEL, "hello", check=False)
    assert "llm keys set raycast" in error and "RAYCAST_TOKEN" in error


def test_a_prompt_streams(llm: Llm, emulator: EmulatorServer) -> None:
    mark = nonce()
    started = time.monotonic()
    process = subprocess.Popen(
        [str(llm.bin / "llm"), "-m", MODEL, f"Hello {mark} @chunks:6 @delay:0.4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=llm.env,
        cwd=llm.folder,
    )
    assert process.stdout is not None
    first = os.read(process.stdout.fileno(), 4096)
    assert first and process.poll() is None  # text before the answer is over
    rest, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert len((first + rest).decode()) > len(first.decode())
    assert time.monotonic() - started > 2.0
    [request] = chats(emulator, mark)
    assert request.json()["model"] == "gpt-4o-mini"


def test_llm_keys_set_raycast_is_the_token(llm: Llm, emulator: EmulatorServer) -> None:
    del llm.env["RAYCAST_TOKEN"]
    llm.run("keys", "set", "raycast", stdin=EMULATOR_TOKEN + "\n")
    mark = nonce()
    assert llm.run("-m", MODEL, f"Hello {mark}").strip()
    [request] = chats(emulator, mark)
    assert request.headers["authorization"] == f"Bearer {EMULATOR_TOKEN}"


def test_options_reach_raycast(llm: Llm, emulator: EmulatorServer) -> None:
    mark = nonce()
    llm.run("-m", "raycast/openai_o1-o3", "-o", "reasoning_effort", "high", f"Why {mark}")
    llm.run("-m", MODEL, "-o", "temperature", "0.3", f"Cool {mark}")
    reasoned, cooled = (r.json() for r in chats(emulator, mark))
    assert reasoned["reasoning_effort"] == "high"
    assert cooled["temperature"] == 0.3


def test_a_wrong_option_says_which_values_fit(llm: Llm, emulator: EmulatorServer) -> None:
    mark = nonce()
    o1 = "raycast/openai_o1-o3"
    error = llm.run("-m", o1, "-o", "reasoning_effort", "max", mark, check=False)
    assert "openai_o1-o3 takes a reasoning effort of low, medium, high" in error
    error = llm.run("-m", MODEL, "-o", "reasoning_effort", "high", mark, check=False)
    assert "openai-gpt-4o-mini does not take a reasoning effort" in error
    assert chats(emulator, mark) == []


def test_a_conversation_continues_with_c(llm: Llm, emulator: EmulatorServer) -> None:
    first, second = nonce(), nonce()
    llm.run("-m", MODEL, f"Hello {first}")
    llm.run("-c", f"And again {second}")
    [request] = chats(emulator, second)
    messages = request.json()["messages"]
    assert [m["author"] for m in messages] == ["user", "assistant", "user"]
    assert first in json.dumps(messages[0]) and second in json.dumps(messages[2])
    assert len(messages[1]["content"]["text"]) > 20  # the first answer, sent back


def test_usage_is_in_llm_logs(llm: Llm) -> None:
    llm.run("-m", MODEL, f"Hello {nonce()}")
    [entry] = llm.logs()
    assert entry["model"] == MODEL
    assert entry["input_tokens"] > 0 and entry["output_tokens"] > 0


def test_the_async_model(llm: Llm, emulator: EmulatorServer) -> None:
    mark = nonce()
    assert llm.run("--async", "-m", MODEL, f"Hello {mark}").strip()
    assert len(chats(emulator, mark)) == 1
    [entry] = llm.logs()
    assert entry["output_tokens"] > 0


def test_a_tool_call_runs_through_llm_tools(llm: Llm, emulator: EmulatorServer) -> None:
    mark = nonce()
    function = "def get_weather(city: str) -> str:\n    return 'Sunny in ' + city\n"
    out = llm.run("-m", MODEL, "--functions", function, "--td", f"Weather? {mark} @tool")
    assert "get_weather" in out and "Sunny in" in out
    asked, answered = (r.json() for r in chats(emulator, mark))
    assert [t["function"]["name"] for t in asked["tools"]] == ["get_weather"]
    assert "Sunny in" in json.dumps(answered["messages"])
    assert [e["model"] for e in llm.logs()] == [MODEL, MODEL]


def test_an_upstream_error_is_an_llm_error_with_our_message(llm: Llm) -> None:
    error = llm.run("-m", MODEL, f"Hello {nonce()} @fault:401", check=False)
    assert "Raycast rejected the token (HTTP 401)" in error


def test_an_image_attachment_is_uploaded(llm: Llm, emulator: EmulatorServer) -> None:
    image = llm.folder / "dot.png"
    image.write_bytes(PNG)
    mark = nonce()
    before = len(emulator.recorder.for_path(FILES_PATH))
    assert llm.run("-m", MODEL, "-a", str(image), f"What is this? {mark}").strip()
    assert len(emulator.recorder.for_path(FILES_PATH)) == before + 1
    [request] = chats(emulator, mark)
    assert "attachments" in json.dumps(request.json()["messages"])
