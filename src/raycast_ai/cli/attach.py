"""Files sent with a question (`ask -a FILE`, `/attach FILE` in chat): read and hashed before
any request, so a missing or unreadable file is one line naming it and nothing is sent."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from raycast_ai.attachments import Attachment
from raycast_ai.protocol.errors import AttachmentError
from raycast_ai.protocol.files import MAX_ATTACHMENT_BYTES, human_size

from . import runtime

STDIN = "-"


class FileError(click.ClickException):
    """A file that cannot be attached: one line on stderr and the exit code of a usage error
    (click's UsageError would print the usage lines too)."""

    exit_code = 2


def load(spec: str) -> Attachment:
    """The file at `spec` (`~` expanded), or stdin's bytes for "-"; `FileError` when it cannot
    be read or is too large."""
    try:
        if spec == STDIN:
            return _stdin()
        return Attachment.from_path(Path(spec).expanduser())
    except AttachmentError as exc:
        raise FileError(exc.message) from None


def load_all(specs: Sequence[str]) -> list[Attachment]:
    if list(specs).count(STDIN) > 1:
        raise FileError("Only one attachment can come from stdin (-a -).")
    return [load(spec) for spec in specs]


def _stdin() -> Attachment:
    if runtime.stdin_is_tty():
        raise AttachmentError(
            "-a - attaches what is piped in, and nothing is: cat FILE | raycast-ai -a - PROMPT"
        )
    data = sys.stdin.buffer.read(MAX_ATTACHMENT_BYTES + 1)
    if not data:
        raise AttachmentError("-a - attaches what is piped in, and stdin was empty.")
    return Attachment.from_bytes(data)


def shown(attachment: Attachment) -> str:
    return f"{attachment.filename} ({attachment.content_type}, {human_size(attachment.size)})"


def logged(attachments: Sequence[Attachment]) -> list[Mapping[str, Any]]:
    """What the conversation log keeps of each file: never its bytes."""
    return [{"name": a.filename, "type": a.content_type, "size": a.size} for a in attachments]
