"""`ask -f FILE`: text files put into the prompt, each fenced with its name, read (and refused)
before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from raycast_ai.protocol.errors import InvalidRequestError

MAX_BYTES = 1_000_000
_BACKTICKS = re.compile(r"`{3,}")


def fenced(paths: Sequence[str]) -> str:
    """Each file as a fenced block named after it, blank lines between; "" for none."""
    return "\n\n".join(_block(path, read_text(path)) for path in paths)


def read_text(path: str) -> str:
    file = Path(path)
    try:
        size = file.stat().st_size
        if file.is_dir():
            raise InvalidRequestError(f"-f {path}: is a folder; give a file.")
        if size > MAX_BYTES:
            raise InvalidRequestError(
                f"-f {path}: {size / 1e6:.1f} MB, more than the {MAX_BYTES // 1_000_000} MB -f "
                f"takes; send a part of it instead (head -c 100000 {path} | raycast-ai ...)."
            )
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidRequestError(f"-f {path}: {(exc.strerror or str(exc)).lower()}.") from None
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), data.index(b"\0") + 1, "")
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError(
            f"-f {path}: not a text file (not UTF-8); -f takes text, attach other files with -a."
        ) from None


def _block(name: str, text: str) -> str:
    # A fence longer than any run of backticks inside, so a Markdown file stays whole.
    longest = max((len(m[0]) for m in _BACKTICKS.finditer(text)), default=2)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{fence}{name}\n{body}{fence}"
