"""`python -m raycast_ai.emulator`: serve the Raycast backend emulator on loopback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .config import EmulatorConfig
from .server import DEFAULT_PORT, RemoteHostError, run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m raycast_ai.emulator",
        description=(
            "Serve a local emulator of Raycast's AI backend (chat_completions, models, me, "
            "credits). Put @fault:NAME, @chunks:N, @delay:S or @first:S in a prompt to shape "
            "the answer."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other hosts can reach; the test token and secret are public",
    )
    p.add_argument("--chunks", type=int, default=12, help="text chunks per answer (default 12)")
    p.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    p.add_argument(
        "--first-token-delay", type=float, default=0.0, help="seconds before the first token"
    )
    p.add_argument(
        "--no-signature", action="store_true", help="accept unsigned chat requests (pre-2025)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = EmulatorConfig(
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
        first_token_delay=args.first_token_delay,
        require_signature=not args.no_signature,
    )
    try:
        run(
            args.host,
            args.port,
            config,
            allow_remote=args.allow_remote,
            announce=lambda text: print(text, flush=True),
        )
    except RemoteHostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
