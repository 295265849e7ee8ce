"""`raycast_ai.integrations.g4f.Raycast` inside g4f 6.7.1 and the newest g4f, each in its own
venv (they cannot share one), driven through g4f's public API against the session's emulator by
g4f_driver.py, as a user's script would call it."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from raycast_ai.emulator import EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import emulator_env

pytestmark = pytest.mark.slow  # each needs its venv (made once, minutes the first time)

DRIVER = Path(__file__).with_name("g4f_driver.py")
VERSIONS = ("6.7.1", "8.8.6")
MODEL = "openai-gpt-4o-mini"


def nonce() -> str:
    return f"n{uuid.uuid4().hex[:10]}"


def call(way: str, prompt: str, **changes: str) -> dict[str, str]:
    """One call of the driver's; `prompt` gets a nonce that finds its requests in the recorder."""
    return {
        "way": way,
        "prompt": f"{prompt} {nonce()}",
        "model": MODEL,
        "token": EMULATOR_TOKEN,
        "effort": "",
        **changes,
    }


def calls() -> dict[str, dict[str, str]]:
    """What the driver is asked, with fresh nonces for each g4f version."""
    return {
        "client": call("client", "Hello"),
        "async": call("async", "Hello"),
        "client-provider": call("client-provider", "Hello"),
        "client-stream": call("client-stream", "Hello @chunks:6"),
        "async-stream": call("async-stream", "Hello @chunks:6"),
        "legacy": call("legacy", "Hello @chunks:5"),
        "legacy-stream": call("legacy-stream", "Hello @chunks:5"),
        "legacy-async": call("legacy-async", "Hello @chunks:5"),
        "reasoning": call("client-stream", "Why", model="openai_o1-o3", effort="high"),
        "reasoning-whole": call("async", "Why", model="openai_o1-o3", effort="high"),
        "tools": call("tools", "The weather in Paris? @tool"),
        "image": call("image", "What is this?"),
        "models": call("models", ""),
        **{
            f"401-{way}": call(way, "Hello @fault:401")
            for way in ("client", "async-stream", "legacy")
        },
        **{
            f"429-{way}": call(way, "Hello @fault:429 @retry-after:0")
            for way in ("client", "async")
        },
        "403": call("client", "Hello @fault:403"),
        "500": call("client-stream", "Hello @fault:500 @retry-after:0"),
        "truncated": call("legacy", "Hello @fault:truncate"),
        "no-token": call("client", "Hello", token=""),
        "unknown-model": call("client", "Hello", model="openai-gpt-4o-mimi"),
    }


@dataclass(frozen=True)
class Run:
    version: str
    results: dict[str, dict[str, Any]]
    requests: dict[str, list[dict[str, Any]]]  # the chat bodies each call sent, by its key

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self.results[key]


@pytest.fixture(scope="module", params=VERSIONS)
def g4f(
    request: pytest.FixtureRequest,
    venvs: Callable[[str], Path],
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    """Every call of `calls()` through one g4f version, in one process."""
    version = request.param
    plan = calls()
    python = venvs(f"g4f-{version}") / "python"
    folder = tmp_path_factory.mktemp(f"g4f-{version}")
    done = subprocess.run(
        [str(python), str(DRIVER)],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        env=emulator_env(emulator, folder / "home"),
        cwd=folder,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    assert {r["g4f"] for r in results.values()} == {version}
    requests = {
        key: [
            r.json()
            for r in emulator.recorder.requests
            if r.path == CHAT_PATH and c["prompt"].encode() in r.body
        ]
        for key, c in plan.items()
    }
    return Run(version, results, requests)


@pytest.mark.parametrize("way", ["client", "async", "client-provider"])
def test_a_whole_answer_with_usage(g4f: Run, way: str) -> None:
    result = g4f[way]
    assert "error" not in result, result
    assert len(result["text"]) > 20
    assert result["finish_reason"] == "stop"
    usage = result["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("way", ["client-stream", "async-stream"])
def test_a_streamed_answer_arrives_in_pieces(g4f: Run, way: str) -> None:
    result = g4f[way]
    assert "error" not in result, result
    assert result["chunks"] >= 6 and len(result["text"]) > 10
    assert result["finish_reason"] == "stop"
    assert result["usage"]["completion_tokens"] > 0
    assert [b["model"] for b in g4f.requests[way]] == ["gpt-4o-mini"]


def test_the_legacy_api_whole_streamed_and_async(g4f: Run) -> None:
    assert len(g4f["legacy"]["text"]) > 10 and len(g4f["legacy-async"]["text"]) > 10
    pieces = g4f["legacy-stream"]["pieces"]
    assert len(pieces) == 5 and all(pieces)


def test_reasoning_comes_out_as_g4f_reasoning(g4f: Run) -> None:
    for key in ("reasoning", "reasoning-whole"):
        result = g4f[key]
        assert result["reasoning"] and result["text"], result
        assert result["reasoning"] not in result["text"]
        assert [b["reasoning_effort"] for b in g4f.requests[key]] == ["high"]


def test_a_tool_call_comes_out_as_g4f_tool_calls(g4f: Run) -> None:
    result = g4f["tools"]
    assert result["finish_reason"] == "tool_calls"
    [call] = result["tool_calls"]
    assert call["name"] == "get_weather" and call["id"]
    assert set(json.loads(call["arguments"])) == {"city"}
    [body] = g4f.requests["tools"]
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]


def test_an_image_in_media_is_uploaded(g4f: Run) -> None:
    result = g4f["image"]
    assert "error" not in result, result
    assert result["text"]
    [body] = g4f.requests["image"]
    assert "attachments" in json.dumps(body["messages"])


def test_the_model_list_is_the_catalog(g4f: Run) -> None:
    models = g4f["models"]
    assert "openai-gpt-4o-mini" in models["models"] and "raycast-ray1" in models["models"]
    assert "openai-gpt-4o" in models["vision"] and "raycast-ray1" not in models["vision"]


@pytest.mark.parametrize("way", ["client", "async-stream", "legacy"])
def test_a_401_is_g4f_missing_auth_error_with_our_message(g4f: Run, way: str) -> None:
    result = g4f[f"401-{way}"]
    assert result["error"] == "g4f.errors.MissingAuthError"
    assert "Raycast rejected the token (HTTP 401)" in result["message"]
    assert "RAYCAST_TOKEN" in result["message"]


@pytest.mark.parametrize("way", ["client", "async"])
def test_a_429_is_g4f_rate_limit_error_with_our_message(g4f: Run, way: str) -> None:
    result = g4f[f"429-{way}"]
    assert result["error"] == "g4f.errors.RateLimitError"
    assert "Raycast rate limit reached (HTTP 429)" in result["message"]
    assert len(g4f.requests[f"429-{way}"]) == 3  # the library's two retries ran first


@pytest.mark.parametrize(
    ("key", "error", "words"),
    [
        ("403", "ResponseStatusError", "Raycast refused access (HTTP 403)"),
        ("500", "ResponseStatusError", "Raycast failed with HTTP 500"),
        ("truncated", "ResponseError", "The Raycast stream ended before the answer was finished"),
    ],
)
def test_other_failures_are_g4f_errors_never_an_empty_answer(
    g4f: Run, key: str, error: str, words: str
) -> None:
    result = g4f[key]
    assert result["error"] == f"g4f.errors.{error}", result
    assert words in result["message"]


def test_no_token_is_g4f_missing_auth_error_saying_how(g4f: Run) -> None:
    result = g4f["no-token"]
    assert result["error"] == "g4f.errors.MissingAuthError"
    assert "api_key=" in result["message"] and "RAYCAST_TOKEN" in result["message"]
    assert g4f.requests["no-token"] == []


def test_an_unknown_model_is_g4f_model_not_found(g4f: Run) -> None:
    result = g4f["unknown-model"]
    assert result["error"] == "g4f.errors.ModelNotFoundError"
    assert "Did you mean openai-gpt-4o-mini" in result["message"]


def test_without_g4f_the_import_says_what_to_install(
    venvs: Callable[[str], Path], emulator: EmulatorServer, tmp_path: Path
) -> None:
    python = venvs("llm") / "python"  # raycast-ai without g4f
    done = subprocess.run(
        [str(python), "-c", "import raycast_ai.integrations.g4f"],
        capture_output=True,
        text=True,
        env=emulator_env(emulator, tmp_path),
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ImportError: raycast_ai.integrations.g4f needs g4f, which is not installed: "
        "pip install 'raycast-ai[g4f]'"
    )
