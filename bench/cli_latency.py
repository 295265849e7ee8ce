"""Time from Enter to the first character of the answer on screen in `raycast-ai chat`, against
the library's own time to first token, over the same emulator.

    .venv/bin/python bench/cli_latency.py [--runs 30]

The emulator runs in this process. The library's figure is `RaycastClient.stream` to the first
`TextDelta`; the terminal's is `chat` in a real pseudo-terminal (pexpect): a question sent
with Enter, until the first characters of its answer are read back from the terminal, with and
without Markdown rendering. Target: the terminal within 5 ms of the library (medians; the
90th percentiles are shown too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import pexpect

from raycast_ai import RaycastClient, TextDelta
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.emulator.text import answer_chunks

MODEL = "openai-gpt-4o-mini"
TARGET_MS = 5.0


def library(base_url: str, runs: int) -> list[float]:
    times: list[float] = []
    with RaycastClient(
        base_url=base_url, token=EMULATOR_TOKEN, signing_secret=EMULATOR_SECRET
    ) as client:
        client.models()
        for i in range(runs + 1):
            started = time.perf_counter()
            with client.stream([{"role": "user", "content": f"q{i} @chunks:3"}], MODEL) as events:
                for event in events:
                    if isinstance(event, TextDelta):
                        times.append(time.perf_counter() - started)
                        break
    return times[1:]  # the first pays for the connection


def terminal(base_url: str, runs: int, markdown: bool) -> list[float]:
    home = tempfile.mkdtemp()
    env = {
        **os.environ,
        "RAYCAST_BASE_URL": base_url,
        "RAYCAST_TOKEN": EMULATOR_TOKEN,
        "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
        "RAYCAST_AI_HOME": home,
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect's terminal does not answer position requests
    }
    args = ["-m", "raycast_ai", "chat", "-m", MODEL, *([] if markdown else ["--no-md"])]
    child = pexpect.spawn(
        sys.executable, args, env=env, dimensions=(40, 120), encoding="utf-8", timeout=20
    )
    child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default
    times: list[float] = []
    try:
        child.expect_exact("Ctrl-D to leave.")
        for i in range(runs + 1):
            prompt = f"q{i} @chunks:3"
            first = answer_chunks(prompt, MODEL, 3)[0][:6]
            child.expect(r"[0-9A-F]{8}>")
            child.send(prompt)
            child.expect_exact(prompt)  # echoed as typed
            started = time.perf_counter()
            child.send("\r")
            child.expect_exact(first)
            times.append(time.perf_counter() - started)
        child.expect(r"[0-9A-F]{8}>")
        child.send("/exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return times[1:]


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    with EmulatorServer() as server:
        measured = {
            "library, first token": library(server.base_url, runs),
            "chat --no-md": terminal(server.base_url, runs, markdown=False),
            "chat (Markdown)": terminal(server.base_url, runs, markdown=True),
        }
    lib = percentile(measured["library, first token"], 0.5)
    print(f"runs                          {runs} each")
    worst = 0.0
    for name, times in measured.items():
        median, p90 = percentile(times, 0.5), percentile(times, 0.9)
        added = "" if name.startswith("library") else f"  (+{median - lib:.2f} ms)"
        print(f"{name:<29} median {median:6.2f} ms  p90 {p90:6.2f} ms{added}")
        worst = max(worst, median - lib)
    verdict = "meets" if worst <= TARGET_MS else "misses"
    print(f"{verdict} the target: within {TARGET_MS:.0f} ms of the library")
    sys.exit(0 if worst <= TARGET_MS else 1)


if __name__ == "__main__":
    main()
