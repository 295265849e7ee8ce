"""The system clipboard through the tool the platform has (pbcopy, wl-copy, xclip, xsel)."""

from __future__ import annotations

import shutil
import subprocess

COPY_TOOLS = (
    ("pbcopy",),
    ("wl-copy",),
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
)


class ClipboardError(Exception):
    pass


def copy(text: str) -> None:
    for command in COPY_TOOLS:
        path = shutil.which(command[0])
        if path is None:
            continue
        try:
            subprocess.run(
                [path, *command[1:]],
                input=text.encode(),
                check=True,
                timeout=5,
                capture_output=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClipboardError(f"{command[0]} failed to copy ({exc}).") from None
        return
    names = ", ".join(c[0] for c in COPY_TOOLS)
    raise ClipboardError(f"No clipboard tool found; install one of {names}.")
