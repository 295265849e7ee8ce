"""Rate limits and usage on every chat route of the embedded gateway: refused in each dialect's
shape before anything goes upstream, with OpenAI's headers; usage recorded for streamed and
whole answers; who may read whose usage; and a store that cannot answer, failing open or
closed, with `/ready` saying why."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from chaos import Gateway as Served
from raycast_ai.client import AsyncRaycastClient
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.server.security import hash_key, key_id
from raycast_ai.store.base import RateLimit

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
BODIES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/completions": {"model": MODEL, "prompt": "hi"},
    "/v1/messages": {
        "model": MODEL,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "/v1/responses": {"model": MODEL, "input": "hi", "store": False},
}

Gateway = Callable[..., Any]


@pytest.fixture
def gateway(upstream: AsyncRaycastClient) -> Gateway:
    """An in-process gateway over the emulator with these settings, as an httpx2 client."""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[httpx2.AsyncClient]:
        app = create_app(GatewaySettings(**settings), client=upstream)
        transport = httpx2.ASGITransport(app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http
        shared = app.state.shared
        if shared is not None:
            await shared.aclose()

    return make


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        yield sock.getsockname()[1]


def upstream_requests(emulator: EmulatorServer) -> int:
    return len(emulator.recorder.for_path(CHAT_PATH))


@pytest.mark.parametrize("path", list(BODIES))
async def test_past_the_limit_each_dialect_refuses_before_going_upstream(
    gateway: Gateway, emulator: EmulatorServer, path: str
) -> None:
    async with gateway(rate_limit=RateLimit(2, 60.0)) as http:
        answers = [await http.post(path, json=BODIES[path]) for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200]
        assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["1", "0"]
        before = upstream_requests(emulator)
        refused = await http.post(path, json=BODIES[path])
        assert upstream_requests(emulator) == before
    assert refused.status_code == 429
    assert 59 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == "2"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"] in ("59s", "1m0s")
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert "2 requests per minute" in error["message"]
    if path == "/v1/messages":
        assert refused.json()["type"] == "error"  # Anthropic's shape
    else:
        assert error["code"] == "rate_limit_exceeded"


async def test_each_key_has_its_own_limit(gateway: Gateway) -> None:
    body = BODIES["/v1/chat/completions"]
    async with gateway(api_keys=("sk-one", "sk-two"), rate_limit=RateLimit(1, 60.0)) as http:
        one = {"authorization": "Bearer sk-one"}
        two = {"authorization": "Bearer sk-two"}
        assert (await http.post("/v1/chat/completions", json=body, headers=one)).status_code == 200
        assert (await http.post("/v1/chat/completions", json=body, headers=one)).status_code == 429
        assert (await http.post("/v1/chat/completions", json=body, headers=two)).status_code == 200
        scrape = (await http.get("/metrics", headers=two)).text
    refused = f'raycast_ai_rate_limited_total{{key="{key_id(hash_key("sk-one"))}"}} 1'
    assert refused in scrape.splitlines()
    assert key_id(hash_key("sk-two")) not in scrape


async def test_usage_is_recorded_for_every_dialect_streamed_or_whole(gateway: Gateway) -> None:
    async with gateway() as http:
        whole = await http.post("/v1/chat/completions", json=BODIES["/v1/chat/completions"])
        for path, body in BODIES.items():
            for stream in (False, True):
                answer = await http.post(path, json={**body, "stream": stream})
                assert answer.status_code == 200
                await answer.aread()
        usage = (await http.get("/v1/usage")).json()
    assert usage["key"] is None
    assert [(r["key"], r["model"], r["requests"]) for r in usage["data"]] == [
        ("anonymous", MODEL, 9)
    ]
    reported = whole.json()["usage"]
    row = usage["data"][0]
    assert row["input_tokens"] >= 9 * 1
    assert row["input_tokens"] % reported["prompt_tokens"] == 0  # the same prompt each time
    assert row["output_tokens"] > reported["completion_tokens"]
    assert usage["totals"] == {k: row[k] for k in ("requests", "input_tokens", "output_tokens")}


def test_a_client_that_leaves_mid_stream_is_still_counted(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    options = {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": emulator.base_url,
        "home": tmp_path,
        "max_retries": 0,
    }
    body = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "long @chunks:200 @delay:0.02"}],
    }
    with Served(create_app(GatewaySettings(client_options=options))) as served:
        started = time.monotonic()
        with httpx2.stream("POST", served.base_url + "/v1/chat/completions", json=body) as answer:
            for line in answer.iter_lines():
                if '"content":"' in line:
                    break
        rows: list[dict[str, Any]] = []
        while not rows and time.monotonic() - started < 3:
            rows = httpx2.get(served.base_url + "/v1/usage").json()["data"]
            time.sleep(0.02)
        left_after = time.monotonic() - started
    assert left_after < 2.0  # the whole answer takes 4 s: the client did leave early
    assert [(r["requests"], r["output_tokens"] > 0) for r in rows] == [(1, True)]


async def test_a_key_reads_its_own_usage_and_no_other(gateway: Gateway) -> None:
    body = BODIES["/v1/chat/completions"]
    one, two = key_id(hash_key("sk-one")), key_id(hash_key("sk-two"))
    async with gateway(api_keys=("sk-one", "sk-two")) as http:
        as_one = {"authorization": "Bearer sk-one"}
        as_two = {"x-api-key": "sk-two"}
        for _ in range(2):
            await http.post("/v1/chat/completions", json=body, headers=as_one)
        await http.post("/v1/chat/completions", json=body, headers=as_two)
        mine = (await http.get("/v1/usage", headers=as_one)).json()
        filtered = (await http.get(f"/v1/usage?key={one}", headers=as_one)).json()
        other = await http.get(f"/v1/usage?key={two}", headers=as_one)
        anonymous = await http.get("/v1/usage")
    assert mine == filtered
    assert mine["key"] == one
    assert [(r["key"], r["requests"]) for r in mine["data"]] == [(one, 2)]
    assert other.status_code == 403
    assert "may read only its own usage" in other.json()["error"]["message"]
    assert anonymous.status_code == 401


async def test_without_keys_everyone_is_seen_and_key_filters(gateway: Gateway) -> None:
    async with gateway() as http:
        await http.post("/v1/chat/completions", json=BODIES["/v1/chat/completions"])
        everyone = (await http.get("/v1/usage")).json()
        nobody = (await http.get("/v1/usage?key=key-000000000000")).json()
    assert [r["key"] for r in everyone["data"]] == ["anonymous"]
    assert nobody["data"] == []
    assert nobody["totals"]["requests"] == 0


@pytest.mark.parametrize("fail", ["open", "closed"])
async def test_a_store_that_cannot_count_fails_as_configured_and_ready_says_why(
    gateway: Gateway, closed_port: int, fail: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{closed_port}/0"
    settings = {"store_url": url, "rate_limit": RateLimit(5, 60.0), "rate_limit_fail": fail}
    body = BODIES["/v1/chat/completions"]
    with caplog.at_level(logging.WARNING, "raycast_ai"):
        async with gateway(**settings) as http:
            answers = [await http.post("/v1/chat/completions", json=body) for _ in range(3)]
            ready = await http.get("/ready")
            health = await http.get("/health")
            models = await http.get("/v1/models")
    if fail == "open":
        assert [a.status_code for a in answers] == [200, 200, 200]
    else:
        assert [a.status_code for a in answers] == [503, 503, 503]
        error = answers[0].json()["error"]
        assert error["code"] == "rate_limiter_unavailable"
        assert f"Redis at {url} is unreachable" in error["message"]
        assert "--rate-limit-fail closed" in error["message"]
    warnings = [r for r in caplog.records if "rate limits cannot be checked" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per request
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ready.json()["reason"].startswith(f"Redis at {url} is unreachable: ")
    assert health.status_code == 200
    assert models.status_code == 200


async def test_the_responses_store_away_is_a_clear_503_in_the_responses_shape(
    gateway: Gateway, closed_port: int
) -> None:
    url = f"redis://127.0.0.1:{closed_port}/0"
    async with gateway(store_url=url) as http:
        continued = await http.post(
            "/v1/responses",
            json={"model": MODEL, "input": "more", "previous_response_id": "resp_123"},
        )
        fresh = await http.post("/v1/responses", json={"model": MODEL, "input": "new"})
        usage = await http.get("/v1/usage")
    assert continued.status_code == 503
    error = continued.json()["error"]
    assert error["code"] == "store_unavailable"
    assert error["type"] == "server_error"
    assert f"Redis at {url} is unreachable" in error["message"]
    assert fresh.status_code == 200  # answered, though it could not be stored
    assert usage.status_code == 503
    assert "Usage is unavailable" in usage.json()["error"]["message"]


def test_settings_refuse_a_fail_mode_that_is_neither() -> None:
    with pytest.raises(ValueError, match="'open' or 'closed'"):
        dataclasses.replace(GatewaySettings(), rate_limit_fail="maybe")
    assert json.dumps(GatewaySettings().rate_limit_fail) == '"open"'
