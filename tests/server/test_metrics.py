"""`GET /metrics`: what the gateway counts, in a format Prometheus' own parser reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from chaos import Gateway
from raycast_ai.client import AsyncRaycastClient
from raycast_ai.dialects.errors import ErrorInfo
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.server import GatewaySettings, create_app, metrics
from raycast_ai.store import StoreError
from raycast_ai.store.cooldowns import MemoryCooldowns

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"
KEY = "sk-metrics-test"
CHAT = "/v1/chat/completions"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Every sample by name and labels, and every family's type, as Prometheus reads them."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


async def scrape(http: httpx2.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == metrics.CONTENT_TYPE
    return parse(response.text)[0]


def chat(prompt: str, *, stream: bool) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": stream}


@pytest.fixture
async def keyed_http(upstream: AsyncRaycastClient) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(GatewaySettings(api_keys=(KEY,)), client=upstream)
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_chats_errors_and_cut_streams_are_counted(http: httpx2.AsyncClient) -> None:
    received = 0
    streamed = await http.post(CHAT, json=chat("one @chunks:5", stream=True))
    whole = await http.post(CHAT, json=chat("two @chunks:5", stream=False))
    cut = await http.post(CHAT, json=chat("four @fault:reset-mid @chunks:8", stream=True))
    # Last: Raycast's 429 puts the gateway's one account in cooldown.
    limited = await http.post(CHAT, json=chat("three @fault:429", stream=False))
    unknown = await http.get("/no/such/path")
    for response in (streamed, whole, limited, cut, unknown):
        received += len(response.content)
    assert [streamed.status_code, whole.status_code, cut.status_code] == [200, 200, 200]
    assert limited.status_code == 429
    assert "data: [DONE]" in streamed.text
    assert "broke in the middle" in cut.text

    samples = await scrape(http)
    requests = "raycast_ai_requests_total"
    assert value(samples, requests, route=CHAT, dialect="openai-chat", status="2xx") == 3
    assert value(samples, requests, route=CHAT, dialect="openai-chat", status="4xx") == 1
    assert value(samples, requests, route="unmatched", dialect="none", status="4xx") == 1
    errors = "raycast_ai_errors_total"
    rate_limit = {"type": "rate_limit_error", "code": "rate_limit_exceeded"}
    assert value(samples, errors, **rate_limit, stage="response") == 1
    incomplete = {"type": "upstream_error", "code": "incomplete_stream"}
    assert value(samples, errors, **incomplete, stage="stream") == 1
    not_found = {"type": "invalid_request_error", "code": "not_found"}
    assert value(samples, errors, **not_found, stage="response") == 1
    assert sum(v for (name, _), v in samples.items() if name == errors) == 3
    # Both streams sent a first token (the whole answer is not a stream); three answers had a
    # first event from Raycast (the 429 had none).
    assert value(samples, "raycast_ai_time_to_first_token_seconds_count") == 2
    assert value(samples, "raycast_ai_upstream_latency_seconds_count") == 3
    assert value(samples, "raycast_ai_active_streams") == 0
    # Every byte the client received, and nothing else (the scrape counts once it is sent).
    assert value(samples, "raycast_ai_response_bytes_total") == received


async def test_histograms_are_cumulative_and_timed(http: httpx2.AsyncClient) -> None:
    """Raycast opens at once (its provider notice), then takes 0.3 s to the first token: the
    upstream latency is its opening, the time to first token includes the wait."""
    for _ in range(3):
        await http.post(CHAT, json=chat("hi @first:0.3 @chunks:2", stream=True))
    samples = await scrape(http)
    for name in ("time_to_first_token_seconds", "upstream_latency_seconds"):
        full = f"raycast_ai_{name}"
        buckets = [
            (float(dict(labels)["le"]), v)
            for (sample, labels), v in samples.items()
            if sample == full + "_bucket"
        ]
        counts = [v for _, v in sorted(buckets)]
        assert counts == sorted(counts)  # cumulative
        assert counts[-1] == value(samples, full + "_count") == 3
        assert value(samples, full + "_bucket", le="+Inf") == 3
    ttft = "raycast_ai_time_to_first_token_seconds"
    assert value(samples, ttft + "_bucket", le="0.25") == 0
    assert value(samples, ttft + "_bucket", le="2.5") == 3
    assert 0.9 <= value(samples, ttft + "_sum") < 7.5
    upstream = "raycast_ai_upstream_latency_seconds"
    assert value(samples, upstream + "_bucket", le="0.25") == 3
    assert value(samples, upstream + "_sum") < value(samples, ttft + "_sum") - 0.8


async def test_the_format_parses_and_names_its_types(http: httpx2.AsyncClient) -> None:
    await http.post(CHAT, json=chat("hi", stream=True))
    response = await http.get("/metrics")
    samples, types = parse(response.text)
    assert response.text.endswith("\n")
    assert types["raycast_ai_requests"] == "counter"
    assert types["raycast_ai_errors"] == "counter"
    assert types["raycast_ai_response_bytes"] == "counter"
    assert types["raycast_ai_active_streams"] == "gauge"
    assert types["raycast_ai_upstream_latency_seconds"] == "histogram"
    assert types["raycast_ai_time_to_first_token_seconds"] == "histogram"
    assert value(samples, "process_resident_memory_bytes") > 10 * 1024 * 1024
    assert value(samples, "process_open_fds") > 3
    assert 0 < time.time() - value(samples, "process_start_time_seconds") < 24 * 3600
    assert "raycast_ai_account_cooling{" not in response.text  # no account is cooling


def test_label_values_are_escaped() -> None:
    counts = metrics.Metrics()
    odd = 'key "a"\\b\nc'
    counts.refused(odd)
    counts.refused(odd)
    counts.error(ErrorInfo(502, "m", "upstream_error", "x" * 500), "response")
    samples, _ = parse(counts.render({'work "1"': time.time() + 30}))
    assert value(samples, "raycast_ai_rate_limited_total", key=odd) == 2
    code = "x" * metrics.MAX_LABEL + "..."  # bounded
    assert (
        value(
            samples, "raycast_ai_errors_total", type="upstream_error", code=code, stage="response"
        )
        == 1
    )
    assert value(samples, "raycast_ai_account_cooling", account='work "1"') == 1


def test_label_sets_are_bounded() -> None:
    counts = metrics.Metrics()
    for n in range(metrics.MAX_SERIES + 50):
        counts.error(ErrorInfo(502, "m", "upstream_error", f"code-{n}"), "response")
    samples, _ = parse(counts.render())
    series = [labels for name, labels in samples if name == "raycast_ai_errors_total"]
    assert len(series) == metrics.MAX_SERIES + 1
    overflow = {"type": "other", "code": "other", "stage": "other"}
    assert value(samples, "raycast_ai_errors_total", **overflow) == 50


async def test_rate_limit_refusals_reach_the_requests_app() -> None:
    """What the rate limiter calls, from anywhere on the request's path."""
    counts = metrics.Metrics()

    async def refusing(scope: Scope, receive: Receive, send: Send) -> None:
        metrics.rate_limited("key-0123456789ab")
        await send({"type": "http.response.start", "status": 429, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = metrics.MetricsMiddleware(refusing, metrics=counts)
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as client:
        assert (await client.post(CHAT)).status_code == 429
    metrics.rate_limited("key-0123456789ab")  # outside a request: counts nowhere, fails not
    samples, _ = parse(counts.render())
    assert value(samples, "raycast_ai_rate_limited_total", key="key-0123456789ab") == 1
    assert (
        value(samples, "raycast_ai_requests_total", route="unmatched", dialect="none", status="4xx")
        == 1
    )


async def test_metrics_need_the_key_when_keys_are_set(keyed_http: httpx2.AsyncClient) -> None:
    refused = await keyed_http.get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    wrong = await keyed_http.post(
        CHAT, json=chat("hi", stream=False), headers={"authorization": "Bearer sk-wrong"}
    )
    assert wrong.status_code == 401
    samples = await scrape(keyed_http, authorization=f"Bearer {KEY}")
    requests = "raycast_ai_requests_total"
    # Refused before routing, still counted under the route the path names.
    assert value(samples, requests, route="/metrics", dialect="none", status="4xx") == 1
    assert value(samples, requests, route=CHAT, dialect="openai-chat", status="4xx") == 1
    invalid_key = {"type": "invalid_request_error", "code": "invalid_api_key"}
    assert value(samples, "raycast_ai_errors_total", **invalid_key, stage="response") == 2


async def test_cooling_accounts_are_read_at_scrape_time(app: Starlette) -> None:
    cooldowns = MemoryCooldowns()
    app.state.cooldowns = cooldowns
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
        samples = await scrape(http)
        assert not [name for name, _ in samples if "account" in name]
        await cooldowns.cool("work", 60)
        await cooldowns.cool("home", 5)
        samples = await scrape(http)
        assert value(samples, "raycast_ai_account_cooling", account="work") == 1
        assert value(samples, "raycast_ai_account_cooling", account="home") == 1
        assert 55 < value(samples, "raycast_ai_account_cooldown_seconds", account="work") <= 60


async def test_cooldowns_that_cannot_be_read_leave_the_rest(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    class Gone:
        async def cool(self, account: str, seconds: float) -> None:
            raise StoreError("Redis is not reachable")

        async def cooling(self) -> dict[str, float]:
            raise StoreError("Redis is not reachable")

    app.state.cooldowns = Gone()
    transport = httpx2.ASGITransport(app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as http:
        samples = await scrape(http)
    assert "raycast_ai_active_streams" in {name for name, _ in samples}
    assert not [name for name, _ in samples if "account" in name]
    assert "Redis is not reachable" in caplog.text


@pytest.fixture
def own_gateway(emulator: EmulatorServer, tmp_path: Path) -> Any:
    """A gateway under uvicorn with counts of its own, and a long upstream read timeout."""
    from raycast_ai.client import Timeout
    from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN

    options = {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": emulator.base_url,
        "home": tmp_path,
        "timeout": Timeout(read=30.0),
        "max_retries": 0,
    }
    with Gateway(create_app(GatewaySettings(client_options=options))) as server:
        yield server


async def poll(http: httpx2.AsyncClient, name: str, wanted: float) -> Samples:
    """The scrape once `name` reads `wanted`: a stream's end is counted just after its bytes."""
    deadline = time.monotonic() + 3
    while True:
        samples = await scrape(http)
        if value(samples, name) == wanted or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.02)


async def test_active_streams_fall_back_to_zero(own_gateway: Any) -> None:
    async with httpx2.AsyncClient(base_url=own_gateway.base_url, timeout=10) as http:
        body = chat("long one @chunks:400 @delay:0.02", stream=True)
        async with http.stream("POST", CHAT, json=body) as leaving:
            lines = leaving.aiter_lines()
            assert (await anext(lines)).startswith("data: ")
            samples = await scrape(http)
            assert value(samples, "raycast_ai_active_streams") == 1
        # The client left after its first chunk.
        samples = await poll(http, "raycast_ai_active_streams", 0)
        assert value(samples, "raycast_ai_active_streams") == 0
        samples = await poll(http, "raycast_ai_client_disconnects_total", 1)
        assert value(samples, "raycast_ai_client_disconnects_total") == 1

        answers = await asyncio.gather(
            *(http.post(CHAT, json=chat(f"n{n} @chunks:20", stream=True)) for n in range(5))
        )
        assert all("data: [DONE]" in a.text for a in answers)
        samples = await poll(http, "raycast_ai_active_streams", 0)
        assert value(samples, "raycast_ai_active_streams") == 0
        assert value(samples, "raycast_ai_time_to_first_token_seconds_count") == 6
        ok = {"route": CHAT, "dialect": "openai-chat", "status": "2xx"}
        assert value(samples, "raycast_ai_requests_total", **ok) == 6


async def test_each_dialect_is_counted_under_its_route(http: httpx2.AsyncClient) -> None:
    messages = {"model": MODEL, "max_tokens": 50, "stream": True}
    messages["messages"] = [{"role": "user", "content": "hi"}]
    assert (await http.post("/v1/messages", json=messages)).status_code == 200
    responses = {"model": MODEL, "input": "hi", "stream": False, "store": False}
    assert (await http.post("/v1/responses", json=responses)).status_code == 200
    samples = await scrape(http)
    requests = "raycast_ai_requests_total"
    anthropic = {"route": "/v1/messages", "dialect": "anthropic-messages", "status": "2xx"}
    assert value(samples, requests, **anthropic) == 1
    openai = {"route": "/v1/responses", "dialect": "openai-responses", "status": "2xx"}
    assert value(samples, requests, **openai) == 1
