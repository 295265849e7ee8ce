"""The `raycast-ai` console script.

`--help` and `--version` are answered without importing click, which alone takes longer than
starting Python; everything else goes to the click group in `app`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        from raycast_ai import __version__

        sys.stdout.write(f"raycast-ai {__version__}\n")
        return
    if len(args) == 1 and args[0] in ("--help", "-h") and _columns() >= 80:
        from .commands import root_help

        text = root_help()
        if text is not None:
            sys.stdout.write(text)
            return
    try:
        from .app import cli
    except ModuleNotFoundError as exc:  # `pip install raycast-ai` without the cli extra
        from .errors import FAILURE, missing_extra

        line = missing_extra(exc)
        if line is None:
            raise
        sys.stderr.write(f"Error: {line}\n")
        raise SystemExit(FAILURE) from None
    cli.main(args=args, prog_name="raycast-ai")


def _columns() -> int:
    """The terminal width as click measures it (shutil.get_terminal_size, without shutil)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80
