"""Every failure ends as one line on stderr and its own exit code, with no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raycast_ai.cli import errors
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.history import LOG_FILE, History
from raycast_ai.protocol import errors as tree

from .conftest import Invoke, Run

# (words in the prompt, extra flags, exit code, a piece of the message)
FAULTS = [
    ("@fault:401", (), 5, "Raycast rejected the token (HTTP 401)"),
    ("@fault:403", (), 6, "Raycast refused access (HTTP 403)"),
    ("@fault:429 @retry-after:0", ("--retries", "0"), 8, "rate limit reached (HTTP 429)"),
    ("@fault:500", ("--retries", "0"), 9, "Raycast failed with HTTP 500"),
    ("@fault:503", ("--retries", "0"), 9, "Raycast failed with HTTP 503"),
    ("@fault:reset-mid", (), 11, "The connection to Raycast broke in the middle"),
    ("@fault:stall @stall:5", ("--timeout", "0.3"), 13, "Raycast stopped sending"),
    ("@fault:truncate", (), 11, "ended before the answer was finished"),
    ("@fault:malformed", (), 10, "not JSON"),
    ("@fault:context_error", (), 9, "The conversation is too long for this model"),
    ("@fault:credits_error", (), 8, "Your Raycast AI credits are used up"),
    ("@fault:unknown_api_error", (), 9, "check the signing secret"),
]


@pytest.mark.parametrize(("words", "flags", "code", "text"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_gives_one_line_and_its_exit_code(
    invoke: Invoke, words: str, flags: tuple[str, ...], code: int, text: str
) -> None:
    result = invoke(*flags, f"question {words}")
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    assert text in result.stderr


def test_an_unknown_model_suggests_the_list(invoke: Invoke) -> None:
    result = invoke("-m", "gpt-4o-mni", "hi")
    assert result.exit_code == 7
    assert result.stderr.startswith("Error: Unknown model 'gpt-4o-mni'. Did you mean ")
    assert result.stderr.endswith("Run 'raycast-ai models' to list the model ids.\n")
    assert "openai-gpt-4o-mini" in result.stderr


def test_no_token_says_how_to_set_one(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAYCAST_TOKEN")
    result = invoke("hi")
    assert result.exit_code == 4
    assert result.stderr == f"Error: {errors.NO_TOKEN}\n"


def test_no_signing_secret_says_how_to_set_one(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAYCAST_SIGNING_SECRET")
    result = invoke("hi")
    assert result.exit_code == 5
    assert "RAYCAST_SIGNING_SECRET" in result.stderr


def test_an_unreachable_backend(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYCAST_BASE_URL", "http://127.0.0.1:9")
    result = invoke("--retries", "0", "hi")
    assert result.exit_code == 12
    assert result.stderr.startswith("Error: Could not reach Raycast at http://127.0.0.1:9")


def test_a_partial_answer_is_printed_and_logged_with_the_error(invoke: Invoke, home: Path) -> None:
    prompt = "cut @fault:reset-mid"
    result = invoke(prompt)
    assert result.exit_code == 11
    partial = "".join(answer_chunks(prompt, "openai-gpt-4o-mini", 12)[:3])
    assert result.stdout == partial + "\n"
    with History(home / LOG_FILE) as history:
        [row] = history.recent()
    assert row.response == partial
    assert row.status == "error"
    assert row.error is not None
    assert row.error.startswith("IncompleteStreamError")


def test_a_missing_cli_extra_says_how_to_install_it(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def without_rich(**options: object) -> None:
        raise ModuleNotFoundError("No module named 'rich'", name="rich")

    monkeypatch.setattr("raycast_ai.cli.runtime.make_client", without_rich)
    result = invoke("hello")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: rich is not installed; the command line needs it: pip install 'raycast-ai[cli]'\n"
    )
    assert errors.missing_extra(ModuleNotFoundError("x", name="raycast_ai.nope")) is None


def test_a_real_process_prints_no_traceback(run: Run) -> None:
    done = run("x @fault:malformed")
    assert done.code == 10
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: ")
    debug = run("--debug", "x @fault:malformed")
    assert debug.code == 10
    assert "Traceback" in debug.stderr


def test_every_error_class_has_its_own_code() -> None:
    classes = [
        tree.InvalidRequestError,
        tree.MissingAuthError,
        tree.AuthenticationError,
        tree.PermissionDeniedError,
        tree.ModelNotFoundError,
        tree.RateLimitError,
        tree.UpstreamError,
        tree.StreamDecodeError,
        tree.IncompleteStreamError,
        tree.APIConnectionError,
        tree.APITimeoutError,
    ]
    codes = [errors.exit_code(cls("x")) for cls in classes]
    assert len(set(codes)) == len(codes)
    assert errors.exit_code(tree.RaycastError("x")) == errors.FAILURE
    assert errors.exit_code(ValueError("x")) == errors.FAILURE
    for code in codes:
        assert f"\n  {code:<4} " in "\n" + errors.table()


JSON_FAULTS = [
    ("@fault:401", (), 5, "AuthenticationError"),
    ("@fault:429 @retry-after:0", ("--retries", "0"), 8, "RateLimitError"),
    ("@fault:truncate", (), 11, "IncompleteStreamError"),
    ("@fault:credits_error", (), 8, "QuotaExceededError"),
]


@pytest.mark.parametrize(
    ("words", "flags", "code", "kind"), JSON_FAULTS, ids=[f[0] for f in JSON_FAULTS]
)
def test_with_json_an_error_is_a_json_object_on_stdout(
    run: Run, words: str, flags: tuple[str, ...], code: int, kind: str
) -> None:
    done = run("ask", "--json", *flags, f"question {words}")
    assert done.code == code, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["type"] == kind
    assert error["exit_code"] == code
    assert error["message"] and error["message"] in done.stderr  # the same line for people


def test_json_errors_keep_what_the_error_knows(invoke: Invoke) -> None:
    cut = json.loads(invoke("--json", "cut @fault:reset-mid").stdout)["error"]
    assert cut["type"] == "IncompleteStreamError"
    assert cut["partial_text"] == "".join(
        answer_chunks("cut @fault:reset-mid", "openai-gpt-4o-mini", 12)[:3]
    )
    unknown = invoke("--json", "-m", "gpt-4o-mni", "hi")
    assert unknown.exit_code == 7
    body = json.loads(unknown.stdout)["error"]
    assert body["type"] == "ModelNotFoundError"
    assert "openai-gpt-4o-mini" in body["suggestions"]


def test_with_json_usage_errors_and_other_commands_are_json_too(invoke: Invoke) -> None:
    usage = invoke("ask", "--json", "--temperature", "5", "hi")
    assert usage.exit_code == 2
    assert json.loads(usage.stdout)["error"]["type"] == "UsageError"
    missing = invoke("logs", "--json", "--cid", "nope")
    assert missing.exit_code == 3
    assert json.loads(missing.stdout)["error"]["type"] == "InvalidRequestError"
    # After `--`, "--json" is prompt text: the answer is printed as text.
    plain = invoke("ask", "--", "--json @chunks:2")
    assert plain.exit_code == 0
    assert not plain.stdout.startswith("{")


def test_no_token_is_said_before_any_request(
    invoke: Invoke, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAYCAST_TOKEN")
    before = len(emulator.recorder.requests)
    for args in (["hi"], ["chat"], ["-c", "more"], ["ask", "--json", "hi"]):
        result = invoke(*args, input="hello\n")
        assert result.exit_code == 4, args
        assert f"Error: {errors.NO_TOKEN}\n" in result.stderr
    assert len(emulator.recorder.requests) == before  # not even the models list


def test_no_token_and_no_network_is_about_the_token(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAYCAST_TOKEN")
    monkeypatch.setenv("RAYCAST_BASE_URL", "http://127.0.0.1:9")
    result = invoke("--retries", "0", "hi")
    assert result.exit_code == 4
    assert "could not reach" not in result.stderr.lower()
    assert "raycast-ai auth set" in result.stderr and "RAYCAST_TOKEN" in result.stderr
