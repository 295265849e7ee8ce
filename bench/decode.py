"""How fast `Raycast.create_completion` delivers a long stream, next to a floor from the same run.

    .venv/bin/python bench/decode.py [--events 20000] [--rounds 7]

The emulator runs in its own process on loopback and serves one signed answer of N text events.
`floor` is the least any client must do for those bytes: one bare socket, read to the end,
unwrap the chunked framing, split on blank lines, `json.loads` each event. `provider` is the seed
interface, `Raycast.create_completion(..., stream=True)`, counting the text pieces it yields:
client creation, catalog lookup (warm disk cache), signing, HTTP, SSE decoding, interpretation.
Rounds alternate between the two; the median of each is reported with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

from gateway import EMULATOR_CODE
from raycast_ai import Raycast
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.request import ChatOptions, build_chat_request, chat_headers
from raycast_ai.protocol.signing import new_device_id

MODEL = ModelEntry(id="openai-gpt-4o-mini", model="gpt-4o-mini", provider="openai")


def floor(base_url: str, prompt: str) -> int:
    messages = [{"role": "user", "content": prompt}]
    body = build_chat_request(messages, MODEL, ChatOptions()).body
    headers = chat_headers(
        body,
        token=EMULATOR_TOKEN,
        secret=EMULATOR_SECRET,
        device_id=new_device_id(),
        timestamp=int(time.time()),
    )
    url = urlsplit(base_url)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST /api/v1/ai/chat_completions HTTP/1.0\r\nHost: {url.netloc}\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    events = 0
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(request)
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += sock.recv(65536)
        head_bytes, raw = raw.split(b"\r\n\r\n", 1)
        chunked = b"transfer-encoding: chunked" in head_bytes.lower()
        buffer = b""
        done = False
        while not done:
            if chunked:  # uvicorn frames even HTTP/1.0 answers in chunks: unwrap them
                while (end := raw.find(b"\r\n")) >= 0:
                    size = int(raw[:end], 16)
                    if len(raw) < end + 2 + size + 2:
                        break
                    buffer += raw[end + 2 : end + 2 + size]
                    raw = raw[end + 2 + size + 2 :]
                    done = size == 0
            else:
                buffer, raw = buffer + raw, b""
            parts = buffer.split(b"\n\n")
            buffer = parts.pop()
            for part in parts:
                if json.loads(part[6:]).get("text"):
                    events += 1
            if not done:
                chunk = sock.recv(65536)
                done = not chunk
                raw += chunk
    return events


def provider(base_url: str, prompt: str) -> int:
    pieces = Raycast.create_completion(
        model="openai-gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        auth=EMULATOR_TOKEN,
        base_url=base_url,
        signing_secret=EMULATOR_SECRET,
    )
    return sum(1 for _ in pieces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="raycast-ai-bench-")
    os.environ["RAYCAST_AI_HOME"] = home
    server = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        prompt = f"benchmark @chunks:{args.events}"
        provider(base_url, prompt)  # warm-up: fills the catalog cache and the TLS context
        timings: dict[str, list[float]] = {"floor": [], "provider": []}
        counts: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, run in (("floor", floor), ("provider", provider)):
                start = time.perf_counter()
                counts[name] = run(base_url, prompt)
                timings[name].append(time.perf_counter() - start)
    finally:
        server.kill()
        server.wait()
    print(f"{args.events} text events, median of {args.rounds} rounds, loopback\n")
    print("| path | events | median s | events/s |")
    print("|---|---|---|---|")
    rates = {}
    for name, times in timings.items():
        median = statistics.median(times)
        rates[name] = counts[name] / median
        print(f"| {name} | {counts[name]} | {median:.4f} | {rates[name]:,.0f} |")
    print(f"\nprovider / floor = {rates['provider'] / rates['floor']:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()
