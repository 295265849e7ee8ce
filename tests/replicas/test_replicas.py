"""Two gateway replicas, run as a user runs them (`raycast-ai serve --store redis://…`), over
the emulator and one real redis-server: a response continued on the other replica, a rate
limit counted across both, usage summed, a cooldown seen by the other, and Redis stopped and
started again mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import openai
import pytest

from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.server.security import hash_key, key_id
from raycast_ai.server.settings import GatewaySettings
from raycast_ai.store.shared import open_shared
from support_redis import RedisServer, free_port

MODEL = "openai-gpt-4o-mini"
KEY = "sk-replicas-test-key"
KEY_ID = key_id(hash_key(KEY))
_CLEARED = ("RAYCAST_AI_API_KEYS", "RAYCAST_AI_STORE", "RAYCAST_DEVICE_ID")


@dataclass
class Replica:
    process: subprocess.Popen[str]
    base_url: str
    client: openai.OpenAI | None = None

    def openai(self) -> openai.OpenAI:
        if self.client is None:
            self.client = openai.OpenAI(base_url=self.base_url + "/v1", api_key=KEY, max_retries=0)
        return self.client

    def get(self, path: str) -> httpx2.Response:
        headers = {"authorization": f"Bearer {KEY}"}
        return httpx2.get(self.base_url + path, headers=headers, timeout=10)

    def chat(self, text: str = "hello") -> httpx2.Response:
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
        headers = {"authorization": f"Bearer {KEY}"}
        return httpx2.post(
            self.base_url + "/v1/chat/completions", json=body, headers=headers, timeout=10
        )


Start = Callable[..., Replica]


@pytest.fixture
def start(emulator: EmulatorServer, redis_server: RedisServer, tmp_path: Path) -> Iterator[Start]:
    """Starts replicas of the gateway on `redis_server`, each with a data folder of its own
    (as on separate machines) and the same key; stops them after the test."""
    started: list[Replica] = []
    key_file = tmp_path / "keys"
    key_file.write_text(KEY + "\n")

    def replica(*flags: str) -> Replica:
        name = f"replica-{len(started)}"
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        env |= {
            "RAYCAST_BASE_URL": emulator.base_url,
            "RAYCAST_TOKEN": EMULATOR_TOKEN,
            "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
            "RAYCAST_AI_HOME": str(tmp_path / name),
        }
        port = free_port()
        command = [sys.executable, "-m", "raycast_ai", "serve", "--port", str(port)]
        command += ["--store", redis_server.url, "--api-key-file", str(key_file), *flags]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(Replica(process, f"http://127.0.0.1:{port}"))
        _wait_until_up(started[-1])
        return started[-1]

    yield replica
    for one in started:
        if one.client is not None:
            one.client.close()
        if one.process.poll() is not None:
            continue
        one.process.send_signal(signal.SIGINT)
        try:
            one.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            one.process.kill()
            one.process.communicate()


def _wait_until_up(replica: Replica, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if replica.process.poll() is not None:
            _, err = replica.process.communicate()
            pytest.fail(f"the replica exited with {replica.process.returncode}:\n{err}")
        try:
            if httpx2.get(replica.base_url + "/health", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("the replica did not start")
        time.sleep(0.05)


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time allowed")
        time.sleep(0.1)


def test_replicas_share_responses_rate_limits_and_usage(start: Start) -> None:
    a = start("--rate-limit", "3/min")
    b = start("--rate-limit", "3/min")

    first = a.openai().responses.create(model=MODEL, input="Remember the word 'heron'.")
    second = b.openai().responses.create(
        model=MODEL, input="Which word?", previous_response_id=first.id
    )
    assert second.output_text
    # B continued A's conversation: A's stored input items are readable on B.
    items = b.openai().responses.input_items.list(first.id)
    assert [item.content[0].text for item in items.data] == ["Remember the word 'heron'."]  # type: ignore[union-attr]

    # Three per minute per key, counted across both: two went to A and B above.
    allowed = b.chat()
    assert allowed.status_code == 200
    assert allowed.headers["x-ratelimit-limit-requests"] == "3"
    assert allowed.headers["x-ratelimit-remaining-requests"] == "0"
    refused = a.openai().chat.completions.with_raw_response  # the SDK's view of a 429
    with pytest.raises(openai.RateLimitError) as limited:
        refused.create(model=MODEL, messages=[{"role": "user", "content": "again"}])
    response = limited.value.response
    assert response.status_code == 429
    assert 50 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["x-ratelimit-reset-requests"].endswith("s")
    assert limited.value.code == "rate_limit_exceeded"
    assert "3 requests per minute" in limited.value.message
    # Anthropic's clients get the refusal in their shape.
    anthropic = httpx2.post(
        b.base_url + "/v1/messages",
        json={"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]},
        headers={"x-api-key": KEY},
        timeout=10,
    )
    assert anthropic.status_code == 429
    assert anthropic.json()["error"]["type"] == "rate_limit_error"

    # Usage of both replicas, summed: the three answered requests, with the tokens each answer
    # reported to its client.
    expected_input = first.usage.input_tokens + second.usage.input_tokens  # type: ignore[union-attr]
    expected_input += allowed.json()["usage"]["prompt_tokens"]

    def summed() -> bool:
        body = a.get("/v1/usage").json()
        return body["totals"]["requests"] == 3 and body == b.get("/v1/usage").json()

    _eventually(summed)
    usage = a.get("/v1/usage").json()
    assert usage["key"] == KEY_ID
    assert usage["data"] == [
        {
            "key": KEY_ID,
            "model": MODEL,
            "requests": 3,
            "input_tokens": expected_input,
            "output_tokens": usage["totals"]["output_tokens"],
        }
    ]
    assert usage["totals"]["output_tokens"] > 0
    other = a.get("/v1/usage?key=key-000000000000")
    assert other.status_code == 403  # a key reads its own usage only

    # Each replica named the key by its id at start, never the key itself.
    for replica in (a, b):
        replica.process.send_signal(signal.SIGINT)
        _, err = replica.process.communicate(timeout=15)
        assert f"Key 1: {KEY_ID}" in err
        assert KEY not in err


@pytest.mark.anyio
async def test_a_cooldown_set_through_one_replica_is_seen_by_the_other(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    settings = GatewaySettings()
    a = open_shared(redis_server.url, tmp_path / "a", settings)
    b = open_shared(redis_server.url, tmp_path / "b", settings)
    try:
        assert await b.cooldowns.cooling() == {}
        await a.cooldowns.cool("work", 30)
        cooling = await b.cooldowns.cooling()
        assert list(cooling) == ["work"]
        assert time.time() + 25 < cooling["work"] <= time.time() + 30
    finally:
        await a.aclose()
        await b.aclose()


def test_redis_stopped_mid_run_degrades_clearly_and_recovers_without_a_restart(
    start: Start, redis_server: RedisServer
) -> None:
    closed = start("--rate-limit", "100/min", "--rate-limit-fail", "closed")
    open_ = start("--rate-limit", "100/min", "--rate-limit-fail", "open")
    assert closed.get("/ready").json()["ready"] is True
    kept = closed.openai().responses.create(model=MODEL, input="before the outage")
    _eventually(lambda: _requests(closed) == 1)

    redis_server.stop()
    # Chat needs no store: the replica failing open answers it, the one failing closed refuses.
    answered = open_.chat("during the outage")
    assert answered.status_code == 200
    assert answered.json()["choices"][0]["message"]["content"]
    refused = closed.chat("during the outage")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "rate_limiter_unavailable"
    assert "The rate limiter is unavailable" in refused.json()["error"]["message"]
    # /ready says what is wrong; the health check still answers.
    ready = closed.get("/ready")
    assert ready.status_code == 503
    reason = ready.json()["reason"]
    assert reason.startswith(f"Redis at {redis_server.url} is unreachable: ")
    assert reason.endswith("stored responses, shared rate limits and usage are unavailable")
    assert closed.get("/health").status_code == 200
    # A stored response cannot be read: a clear 503 in the Responses shape.
    with pytest.raises(openai.InternalServerError) as unavailable:
        open_.openai().responses.create(model=MODEL, input="continue", previous_response_id=kept.id)
    assert unavailable.value.status_code == 503
    assert unavailable.value.code == "store_unavailable"
    assert "response store is unavailable" in unavailable.value.message
    assert f"Redis at {redis_server.url}" in unavailable.value.message
    # An answer that cannot be stored is still answered.
    assert open_.openai().responses.create(model=MODEL, input="unstored").output_text

    redis_server.start()  # an empty Redis on the same port: nothing persisted
    for replica in (closed, open_):
        _eventually(lambda replica=replica: replica.get("/ready").status_code == 200)  # type: ignore[misc]
    _eventually(lambda: closed.chat("after").status_code == 200)
    first = open_.openai().responses.create(model=MODEL, input="after the outage")
    second = closed.openai().responses.create(
        model=MODEL, input="and on", previous_response_id=first.id
    )
    assert second.output_text
    # The new Redis lost what was counted before (no persistence), but what the open replica
    # answered during the outage was kept and written once it was back: its chat and its
    # unstored response, then the chat and the two responses after.
    _eventually(lambda: _requests(closed) == 5)
    assert _requests(open_) == 5


def _requests(replica: Replica) -> int:
    return sum(row["requests"] for row in replica.get("/v1/usage").json()["data"])


def test_a_replica_whose_redis_is_unreachable_starts_degraded_and_says_so_once(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        env |= {
            "RAYCAST_BASE_URL": emulator.base_url,
            "RAYCAST_TOKEN": EMULATOR_TOKEN,
            "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
            "RAYCAST_AI_HOME": str(tmp_path / "home"),
            "RAYCAST_AI_STORE": url,
        }
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "raycast_ai", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        replica = Replica(process, f"http://127.0.0.1:{port}")
        try:
            _wait_until_up(replica)
            assert replica.chat().status_code == 200
            assert replica.get("/ready").status_code == 503
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=15)
    degraded = [line for line in err.splitlines() if "Starting degraded" in line]
    assert len(degraded) == 1
    assert f"Redis at {url} is unreachable" in degraded[0]
    assert f"Shared store: Redis at {url}" in err
