"""Chaos under load: concurrent chat requests through one gateway (real uvicorn on loopback, in
this process) while the emulator bends each answer with a fault drawn by a seeded RNG.

    .venv/bin/python bench/chaos.py [--requests 300] [--concurrency 300] [--seed 1]
    .venv/bin/python bench/chaos.py --seconds 300      # the long mode: keep going for 5 minutes

Every request must end before its deadline, either complete and byte-identical to what the
emulator sent, or with an error in OpenAI's shape: an HTTP error status with an error body, or,
after a 200, one `data: {"error": ...}` event followed by `data: [DONE]`. An answer cut short
in silence, or empty, is a violation. Some clients hang up after the first bytes. Afterwards no
connection to the emulator may stay open, no task may be left in the gateway's event loop, and
the process's file descriptors must be back to their baseline. Prints a markdown report;
`tests/reliability/test_chaos.py` runs a CI-sized round and asserts it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psutil
import uvicorn
from starlette.types import ASGIApp

from raycast_ai.client import Timeout
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.request import CHAT_PATH
from raycast_ai.server import GatewaySettings, create_app
from raycast_ai.server.connections import connection_cap, guarded_protocol
from raycast_ai.server.settings import ConnectionLimits

MODEL = "openai-gpt-4o-mini"
COMPLETIONS = "/v1/chat/completions"

# What the client must see. COMPLETE: the whole answer. STATUS: an HTTP error status (the fault
# strikes before the first token). MIDWAY: when streamed, text and then an in-stream error (the
# fault strikes after a few tokens); when not streamed, an HTTP error status.
COMPLETE, STATUS, MIDWAY = "complete", "status", "midway"
# Endings: all but the last are allowed; a violation is a failure of the gateway.
OK, ERROR_STATUS, ERROR_IN_STREAM, TIMED_OUT, HUNG_UP, VIOLATION = (
    "complete",
    "error status",
    "error in stream",
    "upstream timeout",  # a request whose fault was not a stall, timed out under load
    "client hung up",
    "VIOLATION",
)

# fault -> (weight, what the client must see); None is a plain answer.
FAULTS: dict[str | None, tuple[int, str]] = {
    None: (30, COMPLETE),
    "model_updated": (3, COMPLETE),
    "401": (2, STATUS),
    "403": (2, STATUS),
    "429": (3, STATUS),
    "500": (2, STATUS),
    "502": (2, STATUS),
    "503": (3, STATUS),
    "reset-before": (4, STATUS),
    "stall-before": (3, STATUS),
    "context_error": (2, STATUS),
    "credits_error": (2, STATUS),
    "unknown_api_error": (2, STATUS),
    "reset-mid": (5, MIDWAY),
    "truncate": (5, MIDWAY),
    "malformed": (4, MIDWAY),
    "stall": (4, MIDWAY),
    "oversized": (1, MIDWAY),  # a 2 MiB event, over the client's 1 MiB limit
}
STALL_SECONDS = 120  # far beyond the gateway's read timeout: only the timeout ends a stall


@dataclass(frozen=True, slots=True)
class Spec:
    """One request: its fault, length and pacing, streamed or not, and whether the client
    hangs up after the first bytes."""

    index: int
    fault: str | None
    chunks: int
    delay: float
    stream: bool
    hangup: bool

    @property
    def prompt(self) -> str:
        words = [f"chaos request {self.index}", f"@chunks:{self.chunks}"]
        if self.delay:
            words.append(f"@delay:{self.delay:g}")
        if self.fault:
            words.append(f"@fault:{self.fault}")
        if self.fault in ("stall", "stall-before"):
            words.append(f"@stall:{STALL_SECONDS}")
        return " ".join(words)

    @property
    def expected(self) -> str:
        return "".join(answer_chunks(self.prompt, MODEL, self.chunks))

    @property
    def must(self) -> str:
        return FAULTS[self.fault][1]


def specs(
    seed: int, count: int | None = None, faults: Iterable[str | None] = FAULTS
) -> Iterator[Spec]:
    """`count` requests (endless with None) with `faults` drawn by their weights; the same
    ones for the same seed."""
    rng = random.Random(seed)
    faults = list(faults)
    weights = [FAULTS[f][0] for f in faults]
    index = 0
    while count is None or index < count:
        stream = rng.random() < 0.8
        yield Spec(
            index=index,
            fault=rng.choices(faults, weights)[0],
            chunks=rng.randint(1, 40),
            delay=rng.choice((0.0, 0.0, 0.005, 0.02)),
            stream=stream,
            hangup=stream and rng.random() < 0.05,
        )
        index += 1


@dataclass(frozen=True, slots=True)
class Outcome:
    spec: Spec
    kind: str
    status: int
    seconds: float
    detail: str = ""


def error_shape_problem(payload: Any) -> str | None:
    """What is wrong with an OpenAI error body, or None."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return "no 'error' object"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "no error message"
    if not isinstance(error.get("type"), str):
        return "no error type"
    if "param" not in error or "code" not in error:
        return "no param or code"
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    detail: str = ""  # what is wrong, for a violation
    code: str | None = None  # the error's code, for an error


def judge_error_status(status: int, raw: bytes) -> Verdict:
    try:
        payload = json.loads(raw)
        problem = error_shape_problem(payload)
    except ValueError:
        problem = "not JSON"
    if problem:
        return Verdict(VIOLATION, f"HTTP {status} {problem}: {raw[:200]!r}")
    return Verdict(ERROR_STATUS, code=payload["error"]["code"])


def judge_whole(spec: Spec, status: int, raw: bytes) -> Verdict:
    if status != 200:
        return judge_error_status(status, raw)
    try:
        choice = json.loads(raw)["choices"][0]
        text, finish = choice["message"]["content"], choice["finish_reason"]
    except (ValueError, KeyError, IndexError, TypeError):
        return Verdict(VIOLATION, f"200 without a completion: {raw[:200]!r}")
    if text != spec.expected or finish != "stop":
        return Verdict(VIOLATION, f"200, not the emulator's answer ({finish}): {text!r:.120}")
    return Verdict(OK)


def judge_stream(spec: Spec, status: int, raw: bytes) -> Verdict:
    if status != 200:
        return judge_error_status(status, raw)
    events = [block for block in raw.decode().split("\n\n") if block]
    if not events or events[-1] != "data: [DONE]":
        return Verdict(VIOLATION, f"the stream did not end with [DONE]: ...{raw[-200:]!r}")
    text: list[str] = []
    finish = None
    for i, block in enumerate(events[:-1]):
        if block.startswith(":"):
            continue  # a keep-alive comment
        payload = json.loads(block.removeprefix("data: "))
        if "error" in payload:
            if i != len(events) - 2:
                return Verdict(VIOLATION, "an error event that is not the last before [DONE]")
            problem = error_shape_problem(payload)
            if problem:
                return Verdict(VIOLATION, f"in-stream error {problem}")
            if not spec.expected.startswith("".join(text)):
                return Verdict(VIOLATION, "the text before the error is not the emulator's")
            return Verdict(ERROR_IN_STREAM, code=payload["error"]["code"])
        for choice in payload["choices"]:
            text.append(choice["delta"].get("content") or "")
            finish = choice["finish_reason"] or finish
    got = "".join(text)
    if got != spec.expected or finish != "stop":
        return Verdict(
            VIOLATION, f"[DONE] without an error, not the emulator's answer: {got!r:.120}"
        )
    return Verdict(OK)


def expectation(spec: Spec, verdict: Verdict) -> Verdict:
    """`verdict`, or a violation when the ending is allowed but not the one this fault must
    give. An upstream timeout may end any request: under load the upstream can be slow."""
    if verdict.kind in (VIOLATION, HUNG_UP):
        return verdict
    if verdict.code == "upstream_timeout" and spec.fault not in ("stall", "stall-before"):
        return Verdict(TIMED_OUT, code=verdict.code)
    wanted = {
        COMPLETE: OK,
        STATUS: ERROR_STATUS,
        MIDWAY: ERROR_IN_STREAM if spec.stream else ERROR_STATUS,
    }[spec.must]
    if verdict.kind == wanted:
        return verdict
    return Verdict(VIOLATION, f"fault {spec.fault} gave '{verdict.kind}', not '{wanted}'")


async def exchange(http: httpx2.AsyncClient, spec: Spec) -> tuple[Verdict, int]:
    body = {"model": MODEL, "messages": [{"role": "user", "content": spec.prompt}]}
    body["stream"] = spec.stream
    async with http.stream("POST", COMPLETIONS, json=body) as response:
        status = response.status_code
        if spec.hangup and status == 200:
            async for _ in response.aiter_bytes():
                return Verdict(HUNG_UP), status  # leaving the block closes the connection
        raw = await response.aread()
    verdict = expectation(spec, (judge_stream if spec.stream else judge_whole)(spec, status, raw))
    if verdict.kind == VIOLATION:
        verdict = Verdict(VIOLATION, f"{verdict.detail}; HTTP {status} ...{raw[-300:]!r}")
    return verdict, status


async def one(http: httpx2.AsyncClient, spec: Spec, deadline: float) -> Outcome:
    started = time.monotonic()
    status = 0
    try:
        async with asyncio.timeout(deadline):
            verdict, status = await exchange(http, spec)
    except TimeoutError:
        verdict = Verdict(VIOLATION, f"did not end within {deadline:g} s")
    except httpx2.HTTPError as exc:
        verdict = Verdict(VIOLATION, f"transport error {exc!r}")
    return Outcome(spec, verdict.kind, status, time.monotonic() - started, verdict.detail)


async def load(
    base_url: str, requests: Iterator[Spec], concurrency: int, deadline: float, until: float
) -> list[Outcome]:
    """`concurrency` clients taking requests in turn until there are none left or `until`
    (a monotonic time) has passed."""
    outcomes: list[Outcome] = []
    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(
        base_url=base_url, limits=limits, timeout=None, trust_env=False
    ) as http:

        async def client() -> None:
            for spec in requests:
                outcomes.append(await one(http, spec, deadline))
                if time.monotonic() > until:
                    return

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return outcomes


class _Server(uvicorn.Server):
    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


class Gateway:
    """A gateway app under uvicorn, as `serve()` runs it (its guarded connections included), on
    a loopback port in a thread."""

    def __init__(self, app: ASGIApp) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            ws="none",
            lifespan="on",
            server_header=False,
            backlog=4096,
            http=guarded_protocol(ConnectionLimits(max_connections=connection_cap(None))),
        )
        self.server = _Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> Gateway:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()

    def tasks(self) -> list[str]:
        """The tasks alive in the gateway's event loop (uvicorn's own included)."""

        async def alive() -> list[str]:
            here = asyncio.current_task()
            return sorted(repr(t.get_coro()) for t in asyncio.all_tasks() if t is not here)

        assert self.server.loop is not None
        return asyncio.run_coroutine_threadsafe(alive(), self.server.loop).result(10)


class ErrorLog(logging.Handler):
    """Counts what the gateway logs at ERROR or above: an unhandled exception is a bug."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


@dataclass(slots=True)
class Leaks:
    pending_upstream: int = 0  # emulator responses still in flight
    upstream_established: int = 0
    upstream_close_wait: int = 0  # idle pooled sockets the emulator closed; reaped on next use
    downstream_established: int = 0
    extra_tasks: list[str] = field(default_factory=list)
    fds_running: int = 0  # open fds beyond the warmed-up baseline, idle pooled sockets aside
    fds_after_stop: int = 0  # beyond the baseline before the servers started

    def problems(self, fd_slack: int) -> list[str]:
        found = []
        if self.pending_upstream:
            found.append(f"{self.pending_upstream} emulator responses still in flight")
        if self.upstream_established:
            found.append(f"{self.upstream_established} upstream connections still open")
        if self.downstream_established:
            found.append(f"{self.downstream_established} client connections still open")
        if self.extra_tasks:
            found.append(f"{len(self.extra_tasks)} tasks left in the gateway: {self.extra_tasks}")
        if self.fds_running > fd_slack:
            found.append(f"{self.fds_running} more fds than at the start while running")
        if self.fds_after_stop > fd_slack:
            found.append(f"{self.fds_after_stop} more fds than at the start after stopping")
        return found


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome]
    leaks: Leaks
    gateway_errors: list[str]
    seconds: float
    seed: int
    concurrency: int
    read_timeout: float

    @property
    def violations(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == VIOLATION]

    def problems(self, fd_slack: int = 3) -> list[str]:
        found = [f"request {o.spec.index} ({o.spec.prompt}): {o.detail}" for o in self.violations]
        found += [f"the gateway logged: {line}" for line in self.gateway_errors]
        return found + self.leaks.problems(fd_slack)

    def markdown(self) -> str:
        kinds = (OK, ERROR_STATUS, ERROR_IN_STREAM, TIMED_OUT, HUNG_UP, VIOLATION)
        by_fault: dict[str, Counter[str]] = {}
        for o in self.outcomes:
            by_fault.setdefault(o.spec.fault or "none", Counter())[o.kind] += 1
        streamed = sum(o.spec.stream for o in self.outcomes)
        times = sorted(o.seconds for o in self.outcomes)
        lines = [
            f"{len(self.outcomes)} requests ({streamed} streamed) in {self.seconds:.1f} s, "
            f"{self.concurrency} concurrent, seed {self.seed}, gateway upstream read timeout "
            f"{self.read_timeout:g} s; time per request p50 {times[len(times) // 2]:.2f} s, "
            f"p99 {times[len(times) * 99 // 100]:.2f} s, max {times[-1]:.2f} s",
            "",
            "| fault | requests | " + " | ".join(kinds) + " |",
            "|---|---:|" + "---:|" * len(kinds),
        ]
        total: Counter[str] = Counter()
        for fault in sorted(by_fault, key=lambda f: -sum(by_fault[f].values())):
            counts = by_fault[fault]
            total.update(counts)
            cells = " | ".join(str(counts[k]) for k in kinds)
            lines.append(f"| {fault} | {sum(counts.values())} | {cells} |")
        cells = " | ".join(f"**{total[k]}**" for k in kinds)
        lines.append(f"| **all** | **{sum(total.values())}** | {cells} |")
        leaks = self.leaks
        lines += [
            "",
            f"Afterwards: {leaks.pending_upstream} emulator responses in flight, "
            f"{leaks.upstream_established} upstream and {leaks.downstream_established} client "
            f"connections ESTABLISHED ({leaks.upstream_close_wait} idle pooled sockets closed "
            f"by the emulator, awaiting reuse), {len(leaks.extra_tasks)} extra tasks in the "
            f"gateway's loop, fds {leaks.fds_running:+d} while running and "
            f"{leaks.fds_after_stop:+d} after stopping; {len(self.gateway_errors)} errors "
            "logged by the gateway.",
        ]
        return "\n".join(lines)


def _connections(port: int) -> Counter[str]:
    """States of this process's TCP connections to `port` (the client side)."""
    return Counter(
        c.status
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port
    )


def _settle(check: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)


def run(
    requests: int | None = 300,
    *,
    concurrency: int = 300,
    seed: int = 1,
    seconds: float | None = None,
    read_timeout: float = 2.0,
    deadline: float = 30.0,
    home: Path | None = None,
) -> Report:
    """One chaos round: `requests` requests (or as many as fit in `seconds`), then the leak
    checks. The emulator closes idle kept-alive connections after 5 s, so the checks wait that
    long for the upstream connections to go."""
    errors = ErrorLog()
    gateway_log = logging.getLogger("raycast_ai")
    gateway_log.addHandler(errors)
    level = gateway_log.level
    gateway_log.setLevel(min(gateway_log.getEffectiveLevel(), logging.ERROR))
    process = psutil.Process()
    fds_before = process.num_fds()
    with contextlib.ExitStack() as stack:
        folder = home or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        emulator = stack.enter_context(EmulatorServer())
        options = {
            "token": EMULATOR_TOKEN,
            "signing_secret": EMULATOR_SECRET,
            "base_url": emulator.base_url,
            "home": folder,
            "timeout": Timeout(connect=5.0, read=read_timeout, write=5.0, pool=10.0),
        }
        # Faults are drawn per request: a 429 must not cool the account for the requests after.
        settings = GatewaySettings(client_options=options, cool_accounts=False)
        gateway = stack.enter_context(Gateway(create_app(settings)))
        with httpx2.Client(base_url=gateway.base_url, trust_env=False) as warm:
            warm.get("/ready").raise_for_status()
        _settle(lambda: not _connections(gateway.port)["ESTABLISHED"], 5)
        tasks_before = gateway.tasks()
        fds_running = process.num_fds()
        upstream_idle = _connections(emulator.port)["ESTABLISHED"]

        started = time.monotonic()
        until = started + seconds if seconds is not None else float("inf")
        plan = specs(seed, requests if seconds is None else None)
        outcomes = asyncio.run(load(gateway.base_url, plan, concurrency, deadline, until))
        elapsed = time.monotonic() - started

        leaks = Leaks()
        chat = [r for r in emulator.recorder.requests if r.path == CHAT_PATH]
        with contextlib.suppress(TimeoutError):
            emulator.recorder.wait_for(
                lambda rs: all(r.outcome != "pending" for r in rs if r.path == CHAT_PATH), 5
            )
        leaks.pending_upstream = sum(r.outcome == "pending" for r in chat)
        _settle(lambda: not _connections(emulator.port)["ESTABLISHED"], 5 + 3)
        upstream = _connections(emulator.port)
        leaks.upstream_established = max(upstream["ESTABLISHED"] - upstream_idle, 0)
        leaks.upstream_close_wait = upstream["CLOSE_WAIT"]
        leaks.downstream_established = _connections(gateway.port)["ESTABLISHED"]
        left = Counter(gateway.tasks())
        left.subtract(Counter(tasks_before))
        leaks.extra_tasks = sorted(left.elements())
        leaks.fds_running = process.num_fds() - fds_running - upstream["CLOSE_WAIT"]
    _settle(lambda: process.num_fds() <= fds_before, 5)
    leaks.fds_after_stop = process.num_fds() - fds_before
    gateway_log.removeHandler(errors)
    gateway_log.setLevel(level)
    return Report(outcomes, leaks, errors.records, elapsed, seed, concurrency, read_timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, help="run this long instead (the long mode)")
    parser.add_argument("--read-timeout", type=float, default=2.0)
    parser.add_argument("--deadline", type=float, default=30.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # not the warnings: one per fault
    report = run(
        args.requests,
        concurrency=args.concurrency,
        seed=args.seed,
        seconds=args.seconds,
        read_timeout=args.read_timeout,
        deadline=args.deadline,
    )
    print(report.markdown())
    problems = report.problems()
    for problem in problems[:50]:
        print(f"- {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
