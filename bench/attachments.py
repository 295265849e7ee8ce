"""Benchmark of attachments: a question with a 1 MB image, uploaded then asked, through the
library against the emulator running in its own process.

    .venv/bin/python bench/attachments.py [--requests 30] [--size 1048576]

Prints markdown tables. Time: the median and p90 of `--requests` questions, one at a time, for
a plain question, a question whose image is uploaded each time (a fresh upload cache, so the
metadata request, the PUT and the chat all go), and one whose upload is cached (only the chat
goes), for the sync and the async client, the image given as a path. Memory: the tracemalloc
peak of this process during one uploaded question, the image given as a path (read from disk in
256 KB chunks as it is sent) and as bytes (held whole by the caller), against the image's size:
a peak well under the size means the file was streamed, not copied.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from raycast_ai import AsyncRaycastClient, Attachment, RaycastClient
from raycast_ai.client import UploadCache
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN

EMULATOR_CODE = """
import sys
from raycast_ai.emulator.server import EmulatorServer
with EmulatorServer() as server:
    print(server.base_url, flush=True)
    sys.stdin.read()
"""
QUESTION = [{"role": "user", "content": "What is in this picture? @chunks:20"}]


def image(size: int, seed: int) -> bytes:
    """A PNG signature then `size` bytes that do not compress, different for each `seed`."""
    head = b"\x89PNG\r\n\x1a\n"
    body = bytearray()
    block = seed.to_bytes(8, "big")
    while len(body) < size - len(head):
        block = hashlib.sha512(block).digest()
        body += block
    return head + bytes(body[: size - len(head)])


def client_options(base_url: str, home: Path) -> dict[str, Any]:
    return {
        "token": EMULATOR_TOKEN,
        "signing_secret": EMULATOR_SECRET,
        "base_url": base_url,
        "home": home,
        "max_retries": 0,
    }


def run_sync(
    base_url: str, home: Path, attach: Callable[[], list[Any]], fresh: bool, n: int
) -> list[float]:
    times: list[float] = []
    cache = UploadCache()
    with RaycastClient(uploads=cache, **client_options(base_url, home)) as client:
        for i in range(-3, n):  # warm-up: connections, catalog, code paths
            if fresh:
                cache.clear()
            started = time.perf_counter()
            completion = client.complete(QUESTION, attachments=attach())
            elapsed = time.perf_counter() - started
            assert completion.text, "no answer"
            if i >= 0:
                times.append(elapsed)
    return times


async def run_async(
    base_url: str, home: Path, attach: Callable[[], list[Any]], fresh: bool, n: int
) -> list[float]:
    times: list[float] = []
    cache = UploadCache()
    async with AsyncRaycastClient(uploads=cache, **client_options(base_url, home)) as client:
        for i in range(-3, n):
            if fresh:
                cache.clear()
            started = time.perf_counter()
            completion = await client.complete(QUESTION, attachments=attach())
            elapsed = time.perf_counter() - started
            assert completion.text, "no answer"
            if i >= 0:
                times.append(elapsed)
    return times


def peak(base_url: str, home: Path, attachments: Callable[[], list[Any]]) -> int:
    """tracemalloc's peak over one uploaded question (the attachment made inside it)."""
    with RaycastClient(uploads=UploadCache(), **client_options(base_url, home)) as client:
        client.models()
        client.complete(QUESTION)  # connections and code paths warm, outside the measure
        gc.collect()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            client.complete(QUESTION, attachments=attachments())
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return top - before


def ms(values: Sequence[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    args = parser.parse_args()
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert emulator.stdout is not None
        base_url = emulator.stdout.readline().decode().strip()
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            path = home / "shot.png"
            path.write_bytes(image(args.size, 1))
            n = args.requests
            rows: list[tuple[str, str, list[float]]] = []
            for kind in ("sync", "async"):
                for label, attach, fresh in (
                    ("no attachment", list, False),
                    ("image uploaded each time", lambda: [path], True),
                    ("image upload cached", lambda: [path], False),
                ):
                    if kind == "sync":
                        times = run_sync(base_url, home, attach, fresh, n)
                    else:
                        times = asyncio.run(run_async(base_url, home, attach, fresh, n))
                    rows.append((kind, label, times))
            size = args.size
            print(f"### Upload plus chat, a {size / 1024 / 1024:g} MB image, {n} questions, ms\n")
            print("| client | question | p50 | p90 | mean |")
            print("|---|---|---|---|---|")
            for kind, label, times in rows:
                mean = statistics.fmean(times) * 1000
                print(f"| {kind} | {label} | {ms(times, 0.5)} | {ms(times, 0.9)} | {mean:.1f} |")
            print()
            data = path.read_bytes()
            from_path = peak(base_url, home, lambda: [Attachment.from_path(path)])
            from_bytes = peak(base_url, home, lambda: [Attachment.from_bytes(data)])
            print("### Peak memory of the client process during one uploaded question\n")
            print("| image given as | tracemalloc peak | ÷ image size |")
            print("|---|---|---|")
            for label, value in (("a path", from_path), ("bytes (held by the caller)", from_bytes)):
                print(f"| {label} | {value / 1024:,.0f} KB | {value / size:.2f} |")
    finally:
        if emulator.stdin is not None:
            emulator.stdin.close()
        emulator.wait(10)


if __name__ == "__main__":
    main()
