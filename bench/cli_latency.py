"""Time from Enter to the first character of the answer on screen in `raycast-ai chat`, against
the library's own time to first token, over the same emulator.

    .venv/bin/python bench/cli_latency.py [--runs 30]

The emulator runs in this process. The library's figure is `RaycastClient.stream` to the first
`TextDelta`; the terminal's is `chat` in a real pseudo-terminal (pexpect): a question sent
with Enter, until the first characters of its answer are read back from the terminal, with and
without Markdown rendering. The three take turns, a question each, so a shared machine's load
weighs on them alike. Target: the terminal within 5 ms of the library (medians; the
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
PROMPT = r"[0-9A-F]{8}>"
NAMES = ("library, first token", "chat --no-md", "chat (Markdown)")


class Library:
    """`RaycastClient.stream` to the first `TextDelta`."""

    def __init__(self, base_url: str) -> None:
        self.client = RaycastClient(
            base_url=base_url, token=EMULATOR_TOKEN, signing_secret=EMULATOR_SECRET
        )
        self.client.models()

    def ask(self, prompt: str) -> float:
        started = time.perf_counter()
        with self.client.stream([{"role": "user", "content": prompt}], MODEL) as events:
            for event in events:
                if isinstance(event, TextDelta):
                    break
        return time.perf_counter() - started

    def close(self) -> None:
        self.client.close()


class Terminal:
    """`chat` in a pseudo-terminal: Enter, until the answer's first characters are read back."""

    def __init__(self, base_url: str, markdown: bool) -> None:
        env = {
            **os.environ,
            "RAYCAST_BASE_URL": base_url,
            "RAYCAST_TOKEN": EMULATOR_TOKEN,
            "RAYCAST_SIGNING_SECRET": EMULATOR_SECRET,
            "RAYCAST_AI_HOME": tempfile.mkdtemp(),
            "TERM": "xterm",
            "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect's terminal does not answer position requests
        }
        args = ["-m", "raycast_ai", "chat", "-m", MODEL, *([] if markdown else ["--no-md"])]
        self.child = pexpect.spawn(
            sys.executable, args, env=env, dimensions=(40, 120), encoding="utf-8", timeout=20
        )
        self.child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default
        self.child.expect_exact("Ctrl-D to leave.")
        self.child.expect(PROMPT)

    def ask(self, prompt: str) -> float:
        first = answer_chunks(prompt, MODEL, 3)[0][:6]
        self.child.send(prompt)
        self.child.expect_exact(prompt)  # echoed as typed
        started = time.perf_counter()
        self.child.send("\r")
        self.child.expect_exact(first)
        took = time.perf_counter() - started
        self.child.expect(PROMPT)  # the rest of the answer is drawn before the next one starts
        return took

    def close(self) -> None:
        try:
            self.child.send("/exit\r")
            self.child.expect(pexpect.EOF)
        finally:
            self.child.close(force=True)


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    measured: dict[str, list[float]] = {name: [] for name in NAMES}
    with EmulatorServer() as server:
        subjects = {
            NAMES[0]: Library(server.base_url),
            NAMES[1]: Terminal(server.base_url, markdown=False),
            NAMES[2]: Terminal(server.base_url, markdown=True),
        }
        try:
            # Taken in turns, one question each, so that a load that comes and goes on the
            # machine weighs on all three alike; the first answers pay for connections.
            for i in range(runs + 1):
                for name, subject in subjects.items():
                    took = subject.ask(f"q{i} @chunks:3")
                    if i:
                        measured[name].append(took)
        finally:
            for subject in subjects.values():
                subject.close()
    lib = percentile(measured[NAMES[0]], 0.5)
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
