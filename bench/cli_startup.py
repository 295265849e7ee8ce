"""How long `raycast-ai --help` takes to start, against a bare `python -c pass`.

    .venv/bin/python bench/cli_startup.py [--runs 20]

Runs each command `--runs` times, interleaved (so load on the machine hits both alike), and
prints the medians and their ratio. Targets: a median under 150 ms, at most 3x bare Python.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 150.0
TARGET_RATIO = 3.0


def command() -> list[str]:
    """The venv's console script next to this interpreter, else `python -m raycast_ai`."""
    script = Path(sys.executable).with_name("raycast-ai")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("raycast-ai")
    return [found, "--help"] if found else [sys.executable, "-m", "raycast_ai", "--help"]


def once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    bare = [sys.executable, "-c", "pass"]
    cli = command()
    for argv in (bare, cli):  # warm the disk cache and the bytecode
        once(argv)
    bare_times: list[float] = []
    cli_times: list[float] = []
    for _ in range(args.runs):
        bare_times.append(once(bare))
        cli_times.append(once(cli))
    bare_ms = statistics.median(bare_times) * 1000
    cli_ms = statistics.median(cli_times) * 1000
    ratio = cli_ms / bare_ms
    print(f"runs             {args.runs} each, interleaved")
    print(f"python -c pass   median {bare_ms:6.1f} ms  (min {min(bare_times) * 1000:.1f})")
    label = " ".join([Path(cli[0]).name, *cli[1:]])
    print(f"{label:<16} median {cli_ms:6.1f} ms  (min {min(cli_times) * 1000:.1f})")
    print(f"ratio            {ratio:.2f}x bare Python")
    ok = cli_ms < TARGET_MS and ratio <= TARGET_RATIO
    verdict = "meets" if ok else "misses"
    print(f"{verdict} the targets: < {TARGET_MS:.0f} ms and <= {TARGET_RATIO:.0f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
