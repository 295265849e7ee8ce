"""The clipboard's text, read with the first clipboard tool found on PATH."""

from __future__ import annotations

import shutil
import subprocess

from raycast_ai.protocol.errors import InvalidRequestError

# macOS, Wayland, then X11 (the clipboard selection, not the primary one).
TOOLS = (
    ("pbpaste",),
    ("wl-paste", "--no-newline"),
    ("xclip", "-selection", "clipboard", "-o"),
    ("xsel", "--clipboard", "--output"),
)
TIMEOUT = 5.0


def read_clipboard() -> str:
    """The text of the first tool that reads it; a tool that fails (wl-paste outside Wayland)
    gives way to the next."""
    failed: list[str] = []
    for tool, *args in TOOLS:
        path = shutil.which(tool)
        if path is None:
            continue
        try:
            done = subprocess.run([path, *args], capture_output=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            failed.append(f"{tool}: {exc}")
            continue
        if done.returncode == 0:
            return done.stdout.decode("utf-8", "replace")
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        failed.append(f"{tool}: {said[-1] if said else f'exit {done.returncode}'}")
    if failed:
        raise InvalidRequestError(f"Cannot read the clipboard ({'; '.join(failed)}).")
    names = ", ".join(tool for tool, *_ in TOOLS)
    raise InvalidRequestError(
        f"The command uses {{clipboard}}, but no clipboard tool is on PATH ({names}): "
        "install one (wl-clipboard or xclip on Linux)."
    )
