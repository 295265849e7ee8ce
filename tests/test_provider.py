"""The gpt4free-style `Raycast` provider against the emulator over a real loopback socket.

Configuration comes from environment variables (set with monkeypatch) or from keyword
arguments, as a user of the seed provider would supply it; RAYCAST_AI_HOME always points into
tmp_path so the user's own data folder is never read or written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from raycast_ai import (
    APITimeoutError,
    InvalidRequestError,
    MissingAuthError,
    PermissionDeniedError,
    Raycast,
    Timeout,
)
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.request import CHAT_PATH
from support_emulator import (
    DEFAULT_CHUNKS,
    DEFAULT_MODEL_ID,
    ENV_VARS,
    chat_requests,
    new_nonce,
    user,
    wait_for_outcome,
)

DEVICE_ID = "ab" * 32
OTHER_DEVICE_ID = "cd" * 32
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard: nothing listens there


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty data folder, and no Raycast variables from the user's environment."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "home"
    monkeypatch.setenv("RAYCAST_AI_HOME", str(folder))
    return folder


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, home: Path, emulator: EmulatorServer) -> Path:
    """The emulator configured through the environment, as a user would export it."""
    monkeypatch.setenv("RAYCAST_BASE_URL", emulator.base_url)
    monkeypatch.setenv("RAYCAST_TOKEN", EMULATOR_TOKEN)
    monkeypatch.setenv("RAYCAST_SIGNING_SECRET", EMULATOR_SECRET)
    return home


@pytest.fixture
def nonce() -> str:
    return new_nonce()


def chat_count(emulator: EmulatorServer) -> int:
    return len(emulator.recorder.for_path(CHAT_PATH))


# --- the seed's usage, unchanged --------------------------------------------------------------


def test_seed_usage_example_streams_the_answer(
    env: Path, emulator: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = chat_count(emulator)
    pieces = []
    for piece in Raycast.create_completion(
        model="gpt-3.5-turbo",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        auth=EMULATOR_TOKEN,
    ):
        print(piece, end="", flush=True)
        pieces.append(piece)
    expected = answer_chunks("Hello", DEFAULT_MODEL_ID, DEFAULT_CHUNKS)
    assert pieces == expected  # one piece per streamed chunk, in order
    assert len(pieces) > 1
    assert capsys.readouterr().out == "".join(expected)
    requests = emulator.recorder.for_path(CHAT_PATH)
    assert len(requests) == before + 1
    body = requests[-1].json()
    assert (body["model"], body["provider"]) == ("gpt-4o-mini", "openai")
    assert (env / "device_id").is_file()  # generated in RAYCAST_AI_HOME, nowhere else


def test_pieces_arrive_as_they_are_streamed(env: Path, nonce: str) -> None:
    prompt = f"Hello @delay:0.05 @chunks:5 {nonce}"
    arrivals: list[float] = []
    pieces: list[str] = []
    for piece in Raycast.create_completion("gpt-3.5-turbo", user(prompt), stream=True):
        arrivals.append(time.monotonic())
        pieces.append(piece)
    assert pieces == answer_chunks(prompt, DEFAULT_MODEL_ID, 5)
    # Four 0.05 s pauses separate the five pieces: a buffering provider would hand them all
    # over at once.
    assert arrivals[-1] - arrivals[0] > 0.12


def test_stream_false_yields_one_piece_with_the_whole_answer(env: Path, nonce: str) -> None:
    prompt = f"Hello @chunks:6 {nonce}"
    pieces = list(Raycast.create_completion("gpt-3.5-turbo", user(prompt), stream=False))
    assert pieces == ["".join(answer_chunks(prompt, DEFAULT_MODEL_ID, 6))]


def test_empty_model_name_uses_the_default_model(
    env: Path, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"Hello {nonce}"
    text = "".join(Raycast.create_completion("", user(prompt), stream=True))
    assert text == "".join(answer_chunks(prompt, Raycast.default_model, DEFAULT_CHUNKS))
    assert chat_requests(emulator, nonce)[-1].json()["model"] == "gpt-4o-mini"


@pytest.mark.anyio
async def test_async_generator_streams_pieces_as_they_arrive(env: Path, nonce: str) -> None:
    prompt = f"Hello @delay:0.05 @chunks:5 {nonce}"
    arrivals: list[float] = []
    pieces: list[str] = []
    async for piece in Raycast.create_async_generator("gpt-3.5-turbo", user(prompt)):
        arrivals.append(time.monotonic())
        pieces.append(piece)
    assert pieces == answer_chunks(prompt, DEFAULT_MODEL_ID, 5)
    assert arrivals[-1] - arrivals[0] > 0.12


@pytest.mark.anyio
async def test_async_generator_without_stream_yields_one_piece(env: Path, nonce: str) -> None:
    prompt = f"Hello @chunks:4 {nonce}"
    pieces = [p async for p in Raycast.create_async_generator("gpt-4", user(prompt), stream=False)]
    assert pieces == ["".join(answer_chunks(prompt, "openai-gpt-4o", 4))]


# --- credentials ------------------------------------------------------------------------------


def test_no_token_anywhere_fails_at_call_time_without_network(
    home: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAYCAST_BASE_URL", emulator.base_url)  # reachable: nothing must go there
    monkeypatch.setenv("RAYCAST_SIGNING_SECRET", EMULATOR_SECRET)
    before = len(emulator.recorder)
    with pytest.raises(MissingAuthError) as info:
        Raycast.create_completion("gpt-3.5-turbo", user("Hello"), stream=True)  # not iterated
    assert isinstance(info.value, ValueError)
    assert "auth=" in str(info.value) and "RAYCAST_TOKEN" in str(info.value)
    with pytest.raises(MissingAuthError):
        Raycast.create_async_generator("gpt-3.5-turbo", user("Hello"))  # not iterated
    assert len(emulator.recorder) == before
    assert not home.exists() or list(home.iterdir()) == []


def test_token_and_secret_stored_in_the_data_folder_are_used(
    home: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, nonce: str
) -> None:
    home.mkdir()
    credentials = {"token": EMULATOR_TOKEN, "signing_secret": EMULATOR_SECRET}
    (home / "credentials.json").write_text(json.dumps(credentials))
    monkeypatch.setenv("RAYCAST_BASE_URL", emulator.base_url)
    prompt = f"Hello {nonce}"
    text = "".join(Raycast.create_completion("gpt-3.5-turbo", user(prompt), stream=True))
    assert text == "".join(answer_chunks(prompt, DEFAULT_MODEL_ID, DEFAULT_CHUNKS))


def test_keyword_arguments_win_over_the_environment(
    home: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, nonce: str
) -> None:
    monkeypatch.setenv("RAYCAST_BASE_URL", CLOSED_PORT_URL)
    monkeypatch.setenv("RAYCAST_TOKEN", "a-wrong-token")
    monkeypatch.setenv("RAYCAST_SIGNING_SECRET", "a-wrong-secret")
    monkeypatch.setenv("RAYCAST_DEVICE_ID", OTHER_DEVICE_ID)
    prompt = f"Hello {nonce}"
    pieces = list(
        Raycast.create_completion(
            "gpt-3.5-turbo",
            user(prompt),
            stream=True,
            auth=EMULATOR_TOKEN,
            base_url=emulator.base_url,
            signing_secret=EMULATOR_SECRET,
            device_id=DEVICE_ID,
            timeout=Timeout(connect=2.0, read=2.0),
            max_retries=0,
            temperature=0.25,
        )
    )
    assert "".join(pieces) == "".join(answer_chunks(prompt, DEFAULT_MODEL_ID, DEFAULT_CHUNKS))
    [record] = chat_requests(emulator, nonce)
    assert record.headers["x-raycast-deviceid"] == DEVICE_ID
    assert record.headers["authorization"] == f"Bearer {EMULATOR_TOKEN}"
    assert record.json()["temperature"] == 0.25


@pytest.mark.parametrize("timeout", [0.5, Timeout(connect=2.0, read=0.5)], ids=["float", "obj"])
def test_timeout_keyword_bounds_a_stalled_stream(
    env: Path, emulator: EmulatorServer, nonce: str, timeout: float | Timeout
) -> None:
    prompt = f"@fault:stall @stall:4 {nonce}"
    started = time.monotonic()
    pieces: list[str] = []
    with pytest.raises(APITimeoutError):
        for piece in Raycast.create_completion(
            "gpt-3.5-turbo", user(prompt), stream=True, timeout=timeout
        ):
            pieces.append(piece)
    assert 0.4 < time.monotonic() - started < 3.0
    assert pieces == answer_chunks(prompt, DEFAULT_MODEL_ID, DEFAULT_CHUNKS)[:1]
    wait_for_outcome(emulator, nonce, "disconnected", 2.0)


def test_unknown_keyword_is_an_invalid_request_before_any_network(
    env: Path, emulator: EmulatorServer
) -> None:
    before = len(emulator.recorder)
    with pytest.raises(InvalidRequestError, match="temprature") as info:
        Raycast.create_completion("gpt-3.5-turbo", user("Hello"), stream=True, temprature=0.5)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidRequestError, match="temprature"):
        Raycast.create_async_generator("gpt-3.5-turbo", user("Hello"), temprature=0.5)
    assert len(emulator.recorder) == before


def test_service_errors_reach_the_caller_typed(env: Path, nonce: str) -> None:
    with pytest.raises(PermissionDeniedError):
        list(Raycast.create_completion("gpt-3.5-turbo", user(f"@fault:403 {nonce}"), stream=True))


# --- closing early ----------------------------------------------------------------------------


def test_breaking_out_of_the_loop_closes_the_upstream_stream(
    env: Path, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"Hello @chunks:200 @delay:0.02 {nonce}"
    pieces: list[str] = []
    for piece in Raycast.create_completion("gpt-3.5-turbo", user(prompt), stream=True):
        pieces.append(piece)
        if len(pieces) == 2:
            break
    assert pieces == answer_chunks(prompt, DEFAULT_MODEL_ID, 200)[:2]
    wait_for_outcome(emulator, nonce, "disconnected", 2.0)


@pytest.mark.anyio
async def test_async_break_and_aclose_closes_the_upstream_stream(
    env: Path, emulator: EmulatorServer, nonce: str
) -> None:
    prompt = f"Hello @chunks:200 @delay:0.02 {nonce}"
    pieces: list[str] = []
    generator = Raycast.create_async_generator("gpt-3.5-turbo", user(prompt))
    async for piece in generator:
        pieces.append(piece)
        if len(pieces) == 2:
            break
    await generator.aclose()  # type: ignore[attr-defined]
    assert pieces == answer_chunks(prompt, DEFAULT_MODEL_ID, 200)[:2]
    wait_for_outcome(emulator, nonce, "disconnected", 2.0)
