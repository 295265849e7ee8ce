"""The system clipboard, through the first tool on PATH that works: pbcopy/pbpaste (macOS),
wl-copy/wl-paste (Wayland), then xclip or xsel (X11's clipboard selection, not the primary)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from raycast_ai.protocol.errors import InvalidRequestError

COPY_TOOLS = (
    ("pbcopy",),
    ("wl-copy",),
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
)
PASTE_TOOLS = (
    ("pbpaste",),
    ("wl-paste", "--no-newline"),
    ("xclip", "-selection", "clipboard", "-o"),
    ("xsel", "--clipboard", "--output"),
)
TIMEOUT = 5.0


class ClipboardError(InvalidRequestError):
    pass


def copy(text: str) -> None:
    _first(COPY_TOOLS, text.encode(), "copy to")


def read_clipboard() -> str:
    """The clipboard's text."""
    return _first(PASTE_TOOLS, None, "read").decode("utf-8", "replace")


def _first(tools: Sequence[tuple[str, ...]], given: bytes | None, doing: str) -> bytes:
    """The output of the first tool that works; a tool that fails (wl-paste outside Wayland)
    gives way to the next. None on PATH: an error naming what to install."""
    failed: list[str] = []
    for tool, *args in tools:
        path = shutil.which(tool)
        if path is None:
            continue
        try:
            done = subprocess.run(
                [path, *args], input=given, capture_output=True, timeout=TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            failed.append(f"{tool}: {exc}")
            continue
        if done.returncode == 0:
            return done.stdout
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        failed.append(f"{tool}: {said[-1] if said else f'exit {done.returncode}'}")
    if failed:
        raise ClipboardError(f"Cannot {doing} the clipboard ({'; '.join(failed)}).")
    names = ", ".join(tool for tool, *_ in tools)
    if given is not None:
        raise ClipboardError(f"No clipboard tool found; install one of {names}.")
    raise ClipboardError(
        f"The command uses {{clipboard}}, but no clipboard tool is on PATH ({names}): "
        "install one (wl-clipboard or xclip on Linux)."
    )
