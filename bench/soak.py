"""Soak: the gateway under steady load for a long while, its memory sampled as it goes.

    .venv/bin/python bench/soak.py [--seconds 600] [--concurrency 50] [--interval 2] [--seed 1]

The emulator and the gateway run in their own processes (as in `bench/gateway.py`), so the RSS
sampled is the gateway's alone. `--concurrency` clients send chat requests back to back, in the
mix of `bench/chaos.py` (a fault in a little over half of them, some clients hanging up early)
minus the stalls, whose cost is the read timeout and not the gateway. Prints the RSS slope in
MB per minute (least squares, over the whole run and over its second half, when the pools and
caches are warm), the mean RSS of each tenth of the run, the requests per second, and the
number of requests that ended in a way the chaos rules forbid (the error count; errors that a
fault asked for are counted apart).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import psutil

from chaos import FAULTS, OK, VIOLATION, one, specs
from gateway import servers

SOAK_FAULTS = [f for f in FAULTS if f not in ("stall", "stall-before")]
MB = 1024 * 1024


@dataclass(slots=True)
class Soak:
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds, RSS bytes)
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    @property
    def errors(self) -> int:
        return self.outcomes[VIOLATION]


def slope(samples: Sequence[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (r - mean_r) for t, r in samples)
    return cov / var * 60 / MB if var else 0.0


async def soak(
    base_url: str,
    gateway: psutil.Process,
    *,
    seconds: float,
    concurrency: int,
    interval: float,
    seed: int,
    deadline: float = 30.0,
) -> Soak:
    result = Soak()
    started = time.monotonic()
    until = started + seconds
    requests = specs(seed, None, SOAK_FAULTS)

    async def sample() -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                result.samples.append((time.monotonic() - started, gateway.memory_info().rss))
            await asyncio.sleep(interval)

    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(
        base_url=base_url, limits=limits, timeout=None, trust_env=False
    ) as http:

        async def client() -> None:
            while time.monotonic() < until:
                outcome = await one(http, next(requests), deadline)
                result.outcomes[outcome.kind] += 1
                if outcome.kind == VIOLATION and len(result.problems) < 20:
                    result.problems.append(f"{outcome.spec.prompt}: {outcome.detail}")

        sampler = asyncio.ensure_future(sample())
        try:
            await asyncio.gather(*(client() for _ in range(concurrency)))
        finally:
            sampler.cancel()
    result.seconds = time.monotonic() - started
    result.samples.append((result.seconds, gateway.memory_info().rss))
    return result


def tenths(result: Soak) -> list[str]:
    parts: list[list[int]] = [[] for _ in range(10)]
    for t, rss in result.samples:
        parts[min(int(t / result.seconds * 10), 9)].append(rss)
    return [f"{sum(p) / len(p) / MB:.1f}" if p else "-" for p in parts]


def report(result: Soak, concurrency: int) -> str:
    rss = [r for _, r in result.samples]
    second_half = [s for s in result.samples if s[0] >= result.seconds / 2]
    injected = result.requests - result.outcomes[OK] - result.errors
    return "\n".join(
        [
            f"{result.requests} requests in {result.seconds:.0f} s "
            f"({result.requests / result.seconds:.0f}/s), {concurrency} concurrent clients",
            f"outcomes: {dict(result.outcomes.most_common())}",
            f"errors: {result.errors} (and {injected} errors or hang-ups that faults asked for)",
            f"gateway RSS: {rss[0] / MB:.1f} MB at the start, {rss[-1] / MB:.1f} MB at the end, "
            f"{max(rss) / MB:.1f} MB peak; {len(rss)} samples",
            f"RSS slope: {slope(result.samples):+.3f} MB/min over the whole run, "
            f"{slope(second_half):+.3f} MB/min over the second half",
            "mean RSS of each tenth of the run, MB: " + " ".join(tenths(result)),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home, servers(Path(home)) as (_, port, gateway):
        result = asyncio.run(
            soak(
                f"http://127.0.0.1:{port}",
                gateway,
                seconds=args.seconds,
                concurrency=args.concurrency,
                interval=args.interval,
                seed=args.seed,
            )
        )
    print(report(result, args.concurrency))
    for problem in result.problems:
        print(f"- {problem}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
