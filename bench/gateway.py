"""Benchmark of the gateway, each of its dialects, against the emulator it fronts.

The emulator and the gateway each run in their own process (uvicorn); this process is a lean
HTTP/1.1 client on raw asyncio streams, so what is measured is the servers, not an SDK.

    .venv/bin/python bench/gateway.py [--requests 200] [--events 20000] [--levels 1,10,100,500,1000]
                                      [--rounds 5] [--compare] [--paths gateway,messages,responses]

Prints markdown tables: time to first content token and total time at concurrency 1, events
per second from one long stream, and concurrent streams (`@chunks:5 @delay:0.02`) with
completed, errors, p50/p99 latency (medians over the rounds) and the gateway's peak RSS;
`--compare` runs each level direct too and adds the gateway ÷ direct ratio. Paths: `direct` is a
raw socket to the emulator, `library` is `AsyncRaycastClient` in this process straight to the
emulator (the gateway's upstream half, for attributing the cost), `gateway` is a raw socket to
the gateway's chat completions, `messages` to its Anthropic Messages route and `responses` to
its OpenAI Responses route; each level's table ends with each dialect's p50 ÷ chat's.

Last, a table of issue 15's speed bar (`TARGETS`), each dialect met or missed: the added time
to first token, events per second on one stream once it flows, the p50 at 500 concurrent
streams ÷ direct's (needs `--compare` and 500 in `--levels`) and the peak RSS at 1,000.
`bench/README.md` says where the gateway's time goes, and why the targets it misses are missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from raycast_ai import AsyncRaycastClient, RaycastError, TextDelta
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.protocol.catalog import Catalog, ModelEntry
from raycast_ai.protocol.request import (
    ChatOptions,
    build_chat_request,
    chat_headers,
    models_headers,
)
from raycast_ai.protocol.signing import new_device_id

MODEL = "openai-gpt-4o-mini"

# Issue 15's speed bar: (what, goal as written, met(value)).
TARGETS: dict[str, tuple[str, str, Any]] = {
    "ttft": ("time to first token added, p50 (path − direct)", "< 1 ms", lambda v: v < 1.0),
    "events": ("events/s on one stream, after its first token", ">= 500k", lambda v: v >= 5e5),
    "c500": ("500 concurrent streams, p50 ÷ direct's", "<= 1.2x", lambda v: v <= 1.2),
    "rss": ("peak RSS at 1,000 concurrent streams", "< 150 MB", lambda v: v < 150),
}


@dataclass(slots=True)
class Scores:
    """What each section measured against `TARGETS`, by target and path, for the last table."""

    values: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)

    def add(self, target: str, path: str, value: float, shown: str) -> None:
        self.values[target, path] = (value, shown)

    def print(self, paths: Sequence[str]) -> None:
        print("### Targets (issue 15)\n")
        print("| target | goal | " + " | ".join(paths) + " |")
        print("|---|---|" + "---|" * len(paths))
        for key, (what, goal, met) in TARGETS.items():
            cells = []
            for path in paths:
                if (key, path) not in self.values:
                    cells.append("not run")
                    continue
                value, shown = self.values[key, path]
                cells.append(f"{shown} {'met' if met(value) else '**missed**'}")
            print(f"| {what} | {goal} | " + " | ".join(cells) + " |")
        print()


GATEWAY_FIRST = re.compile(rb'\{"content":"[^"]')
DIRECT_FIRST = re.compile(rb'\{"text":"[^"]')

EMULATOR_CODE = """
import sys, threading
from raycast_ai.emulator.server import EmulatorServer
with EmulatorServer() as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""

GATEWAY_CODE = """
import sys
from raycast_ai.server import serve
serve(port=int(sys.argv[1]), base_url=sys.argv[2], token=sys.argv[3], signing_secret=sys.argv[4],
      home=sys.argv[5], log_level="error", cool_accounts=False)  # soak.py draws faults per request
"""


@dataclass(slots=True)
class Result:
    status: int = 0
    first: float | None = None  # seconds to the first content token
    total: float = 0.0
    events: int = 0
    bytes: int = 0
    done: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.done and self.error is None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    host: str
    port: int
    path: str
    first_token: re.Pattern[bytes]
    body: Any  # prompt -> (body bytes, headers)
    end: bytes = b"data: [DONE]\n\n"  # what a complete answer contains; b"" for direct
    failure: bytes = b'data: {"error"'  # what an error after the 200 starts with

    def request(self, prompt: str) -> bytes:
        body, headers = self.body(prompt)
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def fetch(self, prompt: str) -> Result:
        return await fetch(self, prompt)


class LibraryTarget:
    """`AsyncRaycastClient.stream` straight to the emulator: the gateway's own upstream path."""

    name = "library"

    def __init__(self, client: AsyncRaycastClient) -> None:
        self.client = client

    async def fetch(self, prompt: str) -> Result:
        result = Result(status=200)
        started = time.perf_counter()
        try:
            stream = await self.client.stream([{"role": "user", "content": prompt}], MODEL)
            async with stream:
                async for event in stream:
                    if result.first is None and isinstance(event, TextDelta):
                        result.first = time.perf_counter() - started
                    result.events += 1
            result.done = True
        except RaycastError as exc:
            result.error = type(exc).__name__
        result.total = time.perf_counter() - started
        return result


async def fetch(target: Target, prompt: str) -> Result:
    """One streamed request on a fresh connection, timed from just before the first byte sent."""
    result = Result()
    payload = target.request(prompt)
    started = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        writer.write(payload)
        head = await reader.readuntil(b"\r\n\r\n")
        result.status = int(head[9:12])
        lower = head.lower()
        last, ended, failed = b"", not target.end, False
        async for data in _body(reader, b"transfer-encoding: chunked" in lower, lower):
            if result.first is None and target.first_token.search(last[-48:] + data):
                result.first = time.perf_counter() - started
            window = last[-48:] + data
            ended = ended or target.end in window
            failed = failed or target.failure in window
            result.events += (last[-1:] + data).count(b"\n\n")
            result.bytes += len(data)
            last = data
        result.done = ended
        if failed or (target.name == "direct" and b'"finish_reason":"stop"' not in last):
            result.error = "error event"
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        result.error = type(exc).__name__
    finally:
        result.total = time.perf_counter() - started
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    return result


async def _body(reader: asyncio.StreamReader, chunked: bool, head: bytes) -> Any:
    if not chunked:
        match = re.search(rb"content-length: (\d+)", head)
        if match:
            yield await reader.readexactly(int(match.group(1)))
        else:
            while data := await reader.read(65536):
                yield data
        return
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(port: int, path: str = "/health", timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
            )
            if s.recv(16).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


@contextlib.contextmanager
def servers(home: Path) -> Iterator[tuple[str, int, psutil.Process]]:
    env = {**os.environ, "RAYCAST_AI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("RAYCAST_AI_API_KEYS", None)
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    gateway: subprocess.Popen[bytes] | None = None
    try:
        assert emulator.stdout is not None
        base_url = emulator.stdout.readline().strip()
        if not base_url:
            raise RuntimeError("the emulator did not start")
        port = free_port()
        gateway = subprocess.Popen(
            [
                sys.executable,
                "-c",
                GATEWAY_CODE,
                str(port),
                base_url,
                EMULATOR_TOKEN,
                EMULATOR_SECRET,
                str(home),
            ],
            env=env,
        )
        wait_http(port)
        yield base_url, port, psutil.Process(gateway.pid)
    finally:
        if gateway is not None:
            gateway.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                gateway.wait(10)
            if gateway.poll() is None:
                gateway.kill()
        if emulator.stdin is not None:
            emulator.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            emulator.wait(10)
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait()
        if emulator.stdout is not None:
            emulator.stdout.close()


def catalog_entry(host: str, port: int, device_id: str) -> ModelEntry:
    headers = models_headers(
        token=EMULATOR_TOKEN,
        secret=EMULATOR_SECRET,
        device_id=device_id,
        timestamp=int(time.time()),
    )
    with socket.create_connection((host, port)) as s:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = "GET /api/v1/ai/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        s.sendall(f"{head}{lines}\r\n".encode())
        raw = b""
        while data := s.recv(65536):
            raw += data
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    entry = Catalog.parse(json.loads(body)).get(MODEL)
    assert entry is not None
    return entry


def targets(base_url: str, gateway_port: int, paths: Sequence[str]) -> tuple[Target, list[Target]]:
    host, port = base_url.removeprefix("http://").split(":")
    device_id = new_device_id()
    entry = catalog_entry(host, int(port), device_id)

    def direct_body(prompt: str) -> tuple[bytes, dict[str, str]]:
        request = build_chat_request([{"role": "user", "content": prompt}], entry, ChatOptions())
        headers = chat_headers(
            request.body,
            token=EMULATOR_TOKEN,
            secret=EMULATOR_SECRET,
            device_id=device_id,
            timestamp=int(time.time()),
        )
        return request.body, headers

    direct = Target(
        "direct", host, int(port), "/api/v1/ai/chat_completions", DIRECT_FIRST, direct_body, b""
    )
    return direct, [GATEWAY_PATHS[name](gateway_port) for name in paths]


def _json_body(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}


def _user(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


# Each front-end dialect of the gateway: its path, its first text token, its end and its error.
GATEWAY_PATHS: dict[str, Any] = {
    "gateway": lambda port: Target(
        "gateway",
        "127.0.0.1",
        port,
        "/v1/chat/completions",
        GATEWAY_FIRST,
        lambda prompt: _json_body({"model": MODEL, "stream": True, "messages": _user(prompt)}),
    ),
    "messages": lambda port: Target(
        "messages",
        "127.0.0.1",
        port,
        "/v1/messages",
        re.compile(rb'"text_delta","text":"[^"]'),
        lambda prompt: _json_body(
            {"model": MODEL, "max_tokens": 1024, "stream": True, "messages": _user(prompt)}
        ),
        b"event: message_stop",
        b"event: error",
    ),
    "responses": lambda port: Target(
        "responses",
        "127.0.0.1",
        port,
        "/v1/responses",
        re.compile(rb'"type":"response.output_text.delta"'),
        lambda prompt: _json_body({"model": MODEL, "stream": True, "input": prompt}),
        b"event: response.completed",
        b"event: response.failed",
    ),
}


def ms(values: Sequence[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


async def sequential(targets: Sequence[Target | LibraryTarget], n: int) -> dict[str, list[Result]]:
    """`n` requests per target, one at a time, interleaved so that a change in the machine's
    load during the run weighs on every path alike."""
    results: dict[str, list[Result]] = {t.name: [] for t in targets}
    for i in range(-20, n):  # 20 rounds of warm-up: connections, caches, code paths
        for target in targets:
            result = await target.fetch(f"question {i} @chunks:20")
            if i >= 0:
                results[target.name].append(result)
    return results


async def rss_peak(process: psutil.Process, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):
            peak = max(peak, process.memory_info().rss)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.02)
    return peak


async def concurrent(
    target: Target, n: int, process: psutil.Process, emulator: psutil.Process
) -> tuple[list[Result], float, float, int]:
    """The results, the gateway's and the emulator's CPU seconds, and the gateway's peak RSS."""
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(rss_peak(process, stop))
    cpu, upstream = cpu_seconds(process), cpu_seconds(emulator)
    results = await asyncio.gather(
        *(target.fetch(f"stream {i} of {n} @chunks:5 @delay:0.02") for i in range(n))
    )
    cpu, upstream = cpu_seconds(process) - cpu, cpu_seconds(emulator) - upstream
    stop.set()
    return list(results), cpu, upstream, await sampler


async def latency(
    direct: Target, gateways: list[Target], library: LibraryTarget, requests: int, scores: Scores
) -> None:
    print(f"### Concurrency 1, {requests} requests per path (`@chunks:20`, interleaved), ms\n")
    print("| path | TTFT p50 | TTFT p99 | total p50 | total p99 | errors |")
    print("|---|---|---|---|---|---|")
    medians: dict[str, float] = {}
    paths = (direct, library, *gateways)
    runs = await sequential(paths, requests)
    for target in paths:
        results = runs[target.name]
        firsts = [r.first for r in results if r.first is not None]
        totals = [r.total for r in results]
        medians[target.name] = statistics.median(firsts) if firsts else float("nan")
        errors = sum(not r.ok for r in results)
        print(
            f"| {target.name} | {ms(firsts, 0.5)} | {ms(firsts, 0.99)} | "
            f"{ms(totals, 0.5)} | {ms(totals, 0.99)} | {errors} |"
        )
    print()
    for target in gateways:
        added = (medians[target.name] - medians["direct"]) * 1000
        print(f"Added time to first token (p50), {target.name}: {added:.2f} ms")
        scores.add("ttft", target.name, added, f"{added:.2f} ms")
    print()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def throughput(
    direct: Target,
    gateways: list[Target],
    library: LibraryTarget,
    events: int,
    processes: dict[str, psutil.Process],
    scores: Scores,
) -> None:
    """Events per second over the whole stream, and once it flows (after its first token: the
    emulator makes the whole answer before it sends a byte of it, at a rate of its own that no
    gateway can pass; from the first token on, what bounds the rate is the gateway's work).

    Also the CPU each process spent per event over the three runs (the clock ticks are
    10 ms, so one run is too short to time alone): the three processes share the machine's
    CPUs, so the gateway's CPU per event tells what it would do on a core of its own, as it has
    in use, where Raycast's servers are elsewhere."""
    print(f"### One {events:,}-event stream (`@chunks:{events}`), best of 3\n")
    names = list(processes)
    print(
        "| path | events | seconds | events/s | events/s after first token | MB/s | "
        + " | ".join(f"{name} CPU µs/event" for name in names)
        + " |"
    )
    print("|---|---|---|---|---|---|" + "---|" * len(names))
    for target in (direct, library, *gateways):
        await target.fetch(f"warm long @chunks:{events}")
        before = {name: cpu_seconds(p) for name, p in processes.items()}
        runs = [await target.fetch(f"one long answer @chunks:{events}") for _ in range(3)]
        spent = {name: cpu_seconds(p) - before[name] for name, p in processes.items()}
        result = min(runs, key=lambda r: r.total if r.ok else float("inf"))
        rate = result.events / result.total
        flowing = max(
            (r.events / (r.total - r.first) for r in runs if r.ok and r.first is not None),
            default=math.nan,
        )
        if target.name not in ("direct", "library"):
            scores.add("events", target.name, flowing, f"{flowing / 1000:,.0f}k")
        total = sum(r.events for r in runs) or 1
        cpu = " | ".join(f"{spent[name] / total * 1e6:.2f}" for name in names)
        print(
            f"| {target.name} | {result.events:,} | {result.total:.3f} | {rate:,.0f} | "
            f"{flowing:,.0f} | "
            + (f"{result.bytes / result.total / 1e6:.1f} | " if result.bytes else "- | ")
            + cpu
            + " |"
            + ("" if result.ok else f" error: {result.error} status {result.status}")
        )
    print()


async def concurrency(
    direct: Target,
    gateways: list[Target],
    process: psutil.Process,
    emulator: psutil.Process,
    levels: list[int],
    compare: bool,
    rounds: int,
    scores: Scores,
) -> None:
    """Each level `rounds` times, the paths alternating (and taking turns to go first), so that
    the machine's load during the run weighs on both alike; p50 and p99 are the median of the
    rounds' own. The first round of a level is also shown alone: there the gateway's upstream
    pool is colder (the earlier levels opened fewer connections than this one needs).

    The emulator's CPU per stream is there to read the ratio to direct by: the bench, the
    emulator and the gateway share the machine's CPUs, so a gateway that spends as much CPU per
    stream as the emulator doubles the work the machine does per stream."""
    baseline = process.memory_info().rss
    print(
        f"### Concurrent streams (`@chunks:5 @delay:0.02`, about 100 ms each), {rounds} rounds "
        f"per level, gateway RSS at rest {baseline / 2**20:.0f} MB\n"
    )
    print(
        "| path | streams | completed | errors | p50 ms | p99 ms | first round p50 ms | "
        "gateway peak RSS MB | gateway CPU ms/stream | emulator CPU ms/stream |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    paths = (direct, *gateways) if compare else tuple(gateways)
    for n in levels:
        runs: dict[str, list[tuple[list[Result], int]]] = {t.name: [] for t in paths}
        cpu: dict[str, float] = dict.fromkeys(runs, 0.0)
        upstream: dict[str, float] = dict.fromkeys(runs, 0.0)
        for round in range(rounds):
            for target in paths if round % 2 == 0 else paths[::-1]:
                results, spent, spent_upstream, peak = await concurrent(
                    target, n, process, emulator
                )
                runs[target.name].append((results, peak))
                cpu[target.name] += spent
                upstream[target.name] += spent_upstream
        p50s: dict[str, float] = {}
        for target in paths:
            done = runs[target.name]
            per_round = [[r.total for r in results if r.ok] for results, _ in done]
            errors = [r for results, _ in done for r in results if not r.ok]
            p50s[target.name] = _median_of(per_round, 0.5)
            peak_mb = max(peak for _, peak in done) / 2**20
            rss = f"{peak_mb:.0f}" if target is not direct else "-"
            if n == 1000 and target is not direct:
                scores.add("rss", target.name, peak_mb, f"{peak_mb:.0f} MB")
            print(
                f"| {target.name} | {n} | {sum(map(len, per_round))}/{n * rounds} | "
                f"{len(errors)} | {p50s[target.name] * 1000:.0f} "
                f"| {_median_of(per_round, 0.99) * 1000:.0f} "
                f"| {_median_of(per_round[:1], 0.5) * 1000:.0f} | {rss} "
                f"| {cpu[target.name] / (n * rounds) * 1000:.2f} "
                f"| {upstream[target.name] / (n * rounds) * 1000:.2f} |"
            )
            if errors:
                kinds = sorted({f"{r.status}:{r.error}" for r in errors})
                print(f"|  |  | errors: {', '.join(kinds)} | | | | | | | |")
        first = gateways[0]
        for target in gateways[1:]:
            ratio = p50s[target.name] / p50s[first.name]
            cost = cpu[target.name] / cpu[first.name]
            print(
                f"| {target.name} ÷ {first.name} | {n} | | | {ratio:.2f}x | | | | {cost:.2f}x | |"
            )
        for target in gateways if compare else ():
            ratio = p50s[target.name] / p50s[direct.name]
            print(f"| {target.name} ÷ direct | {n} | | | {ratio:.2f}x | | | | | |")
            if n == 500:
                scores.add("c500", target.name, ratio, f"{ratio:.2f}x")
    print()


def _median_of(per_round: list[list[float]], q: float) -> float:
    """The median over rounds of each round's `q` quantile (nan when a round had no success)."""
    values = [sorted(v)[min(len(v) - 1, int(q * len(v)))] if v else math.nan for v in per_round]
    return statistics.median(values)


async def main(args: argparse.Namespace) -> None:
    skip = set(args.skip.split(","))
    scores = Scores()
    with tempfile.TemporaryDirectory() as home, servers(Path(home)) as (base_url, port, gw):
        direct, gateways = targets(base_url, port, args.paths.split(","))
        [emulator] = [p for p in psutil.Process().children() if p.pid != gw.pid]
        load = os.getloadavg()[0]
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f}; "
            f"emulator and gateway in their own processes\n"
        )
        async with AsyncRaycastClient(
            token=EMULATOR_TOKEN,
            signing_secret=EMULATOR_SECRET,
            base_url=base_url,
            home=home,
            max_retries=0,
        ) as client:
            library = LibraryTarget(client)
            if "latency" not in skip:
                await latency(direct, gateways, library, args.requests, scores)
            if "events" not in skip:
                processes = {"emulator": emulator, "gateway": gw, "bench": psutil.Process()}
                await throughput(direct, gateways, library, args.events, processes, scores)
        if "concurrency" not in skip:
            await concurrency(
                direct, gateways, gw, emulator, args.levels, args.compare, args.rounds, scores
            )
    scores.print([t.name for t in gateways])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--compare", action="store_true", help="also run the concurrent streams direct"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds per concurrency level (median reported)"
    )
    parser.add_argument("--skip", default="", help="comma separated: latency,events,concurrency")
    parser.add_argument(
        "--paths",
        default="gateway,messages,responses",
        help="the gateway's dialects to measure, comma separated: gateway (chat completions), "
        "messages (Anthropic), responses (OpenAI Responses)",
    )
    parser.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10, 100, 500, 1000],
    )
    return parser.parse_args()


if __name__ == "__main__":
    options = parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(options))
    else:
        uvloop.run(main(options))
