"""Chaos across replicas: many concurrent streams for a while through two gateway processes that
share one real `redis-server`, with random upstream faults, slow readers, clients that hang up,
Responses continued on the other replica, and Redis restarted in the middle.

    .venv/bin/python bench/replicas.py [--streams 1000] [--seconds 60] [--seed 1]

The emulator runs in a process of its own, each replica is `serve()` in its own process (as
`raycast-ai serve --store redis://...` runs it, with a 2 s upstream read timeout so that a stall
ends in time), and this process is the clients. Every request must end before its deadline:
chat completions are judged by `chaos.py`'s rules (complete and byte-identical, or an error in
OpenAI's shape); a Responses turn continued on the other replica must answer, or fail with a
Responses error body (while Redis is down, its store cannot be read). Afterwards no client
connection may stay open, each replica's upstream connections must close, and its descriptors
must be back to what they were after warming up. Prints a markdown report; exits 1 on a problem.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psutil

import chaos
from gateway import EMULATOR_CODE, _body, free_port, wait_http
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN

REPLICA_CODE = """
import sys
from raycast_ai.client import Timeout
from raycast_ai.server import serve
serve(port=int(sys.argv[1]), base_url=sys.argv[2], token=sys.argv[3], signing_secret=sys.argv[4],
      home=sys.argv[5], log_level="error", timeout=Timeout(connect=5, read=2, write=5, pool=10),
      cool_accounts=False)
"""
SLOW_READERS = 0.1  # the share of streamed chat requests read slowly
SLOW_PAUSE = 0.05  # seconds a slow reader sleeps between reads
CONTINUED = 0.1  # the share of turns that are a Responses turn continued on the other replica
DEADLINE = 30.0
RESPONSES_OK, RESPONSES_ERROR = "responses continued", "responses error"


@dataclass(slots=True)
class Replica:
    port: int
    process: psutil.Process
    popen: subprocess.Popen[bytes]
    peak_rss: int = 0
    fds_warm: int = 0
    redis_warm: int = 0  # sockets to Redis after warming up (a pool of at most 32 stays)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def connections(self, port: int) -> Counter[str]:
        """States of this replica's TCP connections to `port`."""
        return Counter(
            c.status
            for c in self.process.net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port
        )


class Redis:
    """A real `redis-server` on a loopback port, in a folder of its own, that can be stopped and
    started again on the same port."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed: run scripts/install-redis.sh.")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.folder)]
        self.popen = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen is not None:
            self.popen.terminate()
            self.popen.wait(10)
            self.popen = None


@dataclass(slots=True)
class Report:
    outcomes: list[chaos.Outcome] = field(default_factory=list)
    continued: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    replicas: list[Replica] = field(default_factory=list)
    seconds: float = 0.0
    restart_at: float = 0.0
    streams: int = 0
    slow: int = 0

    def markdown(self) -> str:
        kinds = Counter(o.kind for o in self.outcomes)
        codes = Counter(
            o.detail or "?"
            for o in self.outcomes
            if o.kind in (chaos.ERROR_STATUS, chaos.ERROR_IN_STREAM)
        )
        hangs = sum("did not end" in o.detail for o in self.outcomes)
        lines = [
            f"{len(self.outcomes)} chat requests and {sum(self.continued.values())} continued "
            f"Responses turns in {self.seconds:.1f} s over two replicas, {self.streams} "
            f"concurrent clients ({self.slow} slow reads); Redis restarted at "
            f"{self.restart_at:.1f} s.",
            "",
            "| ending | requests |",
            "|---|---:|",
            *(f"| {kind} | {count} |" for kind, count in kinds.most_common()),
            *(f"| {kind} | {count} |" for kind, count in self.continued.most_common()),
            "",
            "Errors by code: "
            + (", ".join(f"{code} {n}" for code, n in codes.most_common()) or "none"),
            f"Hangs: {hangs}. Violations (a cut answer reported as complete, a bad error): "
            f"{kinds[chaos.VIOLATION]}.",
            "Afterwards: "
            + (
                "; ".join(p for p in self.problems if p.startswith("replica "))
                or "no client or upstream connection left open, descriptors back to their "
                "warm count (Redis's pool aside, at most 32)"
            )
            + ".",
            "Peak RSS: "
            + ", ".join(
                f"replica {i + 1} {r.peak_rss / 2**20:.0f} MB" for i, r in enumerate(self.replicas)
            ),
        ]
        return "\n".join(lines)


class Hangup(Exception):
    """The client hung up after the first bytes, as planned."""


async def post(
    port: int, path: str, payload: dict[str, Any], *, slow: bool = False, hangup: bool = False
) -> tuple[int, bytes]:
    """One request on a connection of its own (`Connection: close`), on raw asyncio streams:
    far cheaper than an HTTP client library, so that a thousand of them do not starve the
    servers of CPU, and no kept-alive connection can be closed under a request. The status
    and the decoded body; a slow reader takes it 256 bytes at a time with pauses."""
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    try:
        writer.write(head.encode() + body)
        status_line = await reader.readuntil(b"\r\n\r\n")
        status = int(status_line[9:12])
        lower = status_line.lower()
        parts: list[bytes] = []
        async for data in _body(reader, b"transfer-encoding: chunked" in lower, lower):
            if hangup and status == 200:
                raise Hangup
            parts.append(data)
            if slow:
                await asyncio.sleep(SLOW_PAUSE * len(data) / 256)
        return status, b"".join(parts)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _chat(port: int, spec: chaos.Spec, slow: bool) -> chaos.Outcome:
    """One chat completion judged by chaos.py's rules."""
    started = time.monotonic()
    status = 0
    payload = {"model": chaos.MODEL, "messages": [{"role": "user", "content": spec.prompt}]}
    payload["stream"] = spec.stream
    try:
        async with asyncio.timeout(DEADLINE):
            status, raw = await post(
                port, chaos.COMPLETIONS, payload, slow=slow, hangup=spec.hangup
            )
        judge = chaos.judge_stream if spec.stream else chaos.judge_whole
        verdict = chaos.expectation(spec, judge(spec, status, raw))
    except Hangup:
        verdict = chaos.Verdict(chaos.HUNG_UP)
    except TimeoutError:
        verdict = chaos.Verdict(chaos.VIOLATION, f"did not end within {DEADLINE:g} s")
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        verdict = chaos.Verdict(chaos.VIOLATION, f"transport error {exc!r}")
    detail = verdict.detail if verdict.kind == chaos.VIOLATION else (verdict.code or "")
    return chaos.Outcome(spec, verdict.kind, status, time.monotonic() - started, detail)


async def _continued(first: int, second: int, n: int) -> str:
    """A Responses turn on one replica, continued on the other: an answer, or an error body."""
    try:
        async with asyncio.timeout(DEADLINE):
            body: dict[str, Any] = {"model": chaos.MODEL, "input": f"replica turn {n}"}
            status, raw = await post(first, "/v1/responses", body)
            if status != 200:
                return _responses_error(status, raw)
            body |= {"input": "what did I ask?", "previous_response_id": json.loads(raw)["id"]}
            status, raw = await post(second, "/v1/responses", body)
            if status != 200:
                return _responses_error(status, raw)
            again = json.loads(raw)
            if again.get("status") != "completed" or not again.get("output"):
                return f"{chaos.VIOLATION}: a continued response without output"
            return RESPONSES_OK
    except TimeoutError:
        return f"{chaos.VIOLATION}: a Responses turn did not end within {DEADLINE:g} s"
    except (OSError, asyncio.IncompleteReadError, ValueError, KeyError) as exc:
        return f"{chaos.VIOLATION}: {exc!r}"


def _responses_error(status: int, raw: bytes) -> str:
    try:
        error = json.loads(raw)["error"]
        if isinstance(error.get("message"), str) and error["message"]:
            return f"{RESPONSES_ERROR} {status}"
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return f"{chaos.VIOLATION}: HTTP {status} {raw[:200]!r}"


async def load(
    replicas: list[Replica], streams: int, seconds: float, seed: int, report: Report
) -> None:
    rng = random.Random(seed)
    plan: Iterator[chaos.Spec] = chaos.specs(seed)
    until = time.monotonic() + seconds
    ports = [r.port for r in replicas]

    async def client(index: int) -> None:
        turn = 0
        while time.monotonic() < until:
            here, there = ports[(index + turn) % 2], ports[(index + turn + 1) % 2]
            turn += 1
            if rng.random() < CONTINUED:
                report.continued[await _continued(here, there, index)] += 1
                continue
            spec = next(plan)
            slow = spec.stream and not spec.hangup and rng.random() < SLOW_READERS
            report.slow += slow
            report.outcomes.append(await _chat(here, spec, slow))

    await asyncio.gather(*(client(i) for i in range(streams)))


async def sampler(replicas: list[Replica], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for replica in replicas:
            replica.sample()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def chaos_run(
    replicas: list[Replica], redis: Redis, streams: int, seconds: float, seed: int, report: Report
) -> None:
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler(replicas, stop))

    async def restart() -> None:
        await asyncio.sleep(seconds / 2)
        report.restart_at = seconds / 2
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(2)
        await asyncio.to_thread(redis.start)

    started = time.monotonic()
    await asyncio.gather(load(replicas, streams, seconds, seed, report), restart())
    report.seconds = time.monotonic() - started
    stop.set()
    await sampling


def _settle(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.2)


def run(streams: int = 1000, seconds: float = 60.0, seed: int = 1) -> Report:
    report = Report(streams=streams)
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        root = Path(folder)
        redis = Redis(root)
        redis.start()
        stack.callback(redis.stop)
        emulator = subprocess.Popen(
            [sys.executable, "-c", EMULATOR_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        stack.callback(emulator.wait, 10)
        stack.callback(emulator.terminate)
        assert emulator.stdin is not None
        stack.callback(emulator.stdin.close)
        assert emulator.stdout is not None
        base_url = emulator.stdout.readline().decode().strip()
        emulator.stdout.close()
        emulator_port = int(base_url.rsplit(":", 1)[1])
        env = {**os.environ, "RAYCAST_AI_STORE": redis.url}
        for n in (1, 2):
            port = free_port()
            home = root / f"replica{n}"
            args = [sys.executable, "-c", REPLICA_CODE, str(port), base_url]
            args += [EMULATOR_TOKEN, EMULATOR_SECRET, str(home)]
            popen = subprocess.Popen(args, env=env)
            stack.callback(_stop, popen)
            wait_http(port, "/ready")
            report.replicas.append(Replica(port, psutil.Process(popen.pid), popen))
        for replica in report.replicas:
            with httpx2.Client(base_url=replica.base_url, trust_env=False) as warm:
                for _ in range(3):
                    warm.post(
                        "/v1/chat/completions",
                        json={
                            "model": chaos.MODEL,
                            "messages": [{"role": "user", "content": "warm"}],
                        },
                    )
            replica.fds_warm = replica.process.num_fds()
            replica.redis_warm = replica.connections(redis.port).total()
        asyncio.run(chaos_run(report.replicas, redis, streams, seconds, seed, report))
        report.problems += [
            f"request {o.spec.index} ({o.spec.prompt}): {o.detail}"
            for o in report.outcomes
            if o.kind == chaos.VIOLATION
        ]
        report.problems += [k for k in report.continued if k.startswith(chaos.VIOLATION)]
        for i, replica in enumerate(report.replicas, 1):
            _settle(lambda r=replica: not r.connections(emulator_port)["ESTABLISHED"], 10)
            upstream = replica.connections(emulator_port)["ESTABLISHED"]
            if upstream:
                report.problems.append(f"replica {i}: {upstream} upstream connections still open")

            def extra_fds(r: Replica = replica) -> int:
                """Descriptors beyond the warm baseline, but for Redis's pool and idle upstream
                sockets the emulator closed (reaped on their next use)."""
                pooled = r.connections(redis.port).total() - r.redis_warm
                idle = r.connections(emulator_port)["CLOSE_WAIT"]
                return r.process.num_fds() - r.fds_warm - max(pooled, 0) - idle

            _settle(lambda: extra_fds() <= 3, 10)
            extra = extra_fds()
            # Redis's pool: at most 32, some closed by the restart until their next use.
            pooled = replica.connections(redis.port).total()
            if pooled > 32:
                report.problems.append(f"replica {i}: {pooled} connections to Redis")
            if extra > 3:
                held = Counter(
                    f"{c.status} to {c.raddr.port if c.raddr else '-'}"
                    for c in replica.process.net_connections(kind="all")
                )
                report.problems.append(
                    f"replica {i}: {extra} more descriptors than after warming up "
                    f"(sockets: {dict(held)}; emulator {emulator_port}, redis {redis.port})"
                )
            clients = sum(
                c.status == "ESTABLISHED"
                for c in psutil.Process().net_connections(kind="tcp")
                if c.raddr and c.raddr.port == replica.port
            )
            if clients:
                report.problems.append(f"replica {i}: {clients} client connections still open")
    return report


def _stop(popen: subprocess.Popen[bytes]) -> None:
    popen.send_signal(signal.SIGINT)
    try:
        popen.wait(15)
    except subprocess.TimeoutExpired:
        popen.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = run(args.streams, args.seconds, args.seed)
    print(report.markdown())
    for problem in report.problems[:50]:
        print(f"- {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
