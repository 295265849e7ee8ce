"""The `raycast-ai` click group: commands load only when they run.

`raycast-ai "PROMPT"` runs `ask`: an unknown first argument falls back to it. Errors are mapped
here, once, to one line on stderr and an exit code (see `errors`).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import click

from .commands import COMMANDS, DEBUG_HELP, DESCRIPTION, MODULES, VERSION_HELP, epilog

DEFAULT_COMMAND = "ask"
_GROUP_FLAGS = frozenset({"--debug", "--version", "--help", "-h"})
DEBUG_KEY = "raycast_ai.debug"


class RaycastGroup(click.Group):
    """Lazy commands, `ask` as the fallback command, and the error mapping."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = MODULES.get(cmd_name, cmd_name)
        command = getattr(import_module(f"raycast_ai.cli.{module}"), cmd_name)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, with_default_command(args))

    def invoke(self, ctx: click.Context) -> Any:
        from raycast_ai.protocol.errors import RaycastError

        from . import errors

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(errors.INTERRUPTED) from None
        except Exception as exc:
            if ctx.meta.get(DEBUG_KEY):
                import traceback

                traceback.print_exc()
            if isinstance(exc, RaycastError):
                line = errors.message(exc)
            else:
                line = errors.missing_extra(exc) or (
                    f"unexpected {type(exc).__name__}: {exc}. Rerun with --debug for details."
                )
            click.echo(f"Error: {' '.join(line.split())}", err=True)
            raise click.exceptions.Exit(errors.exit_code(exc)) from None


def with_default_command(args: list[str]) -> list[str]:
    """`ask` inserted before the first argument that is neither a group flag nor a command.

    Text piped in with no argument at all is a question too.
    """
    for i, arg in enumerate(args):
        if arg in _GROUP_FLAGS:
            continue
        if arg in COMMANDS:
            return args
        return [*args[:i], DEFAULT_COMMAND, *args[i:]]
    if not args and not sys.stdin.isatty():
        return [DEFAULT_COMMAND]
    return args


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        import logging

        ctx.meta[DEBUG_KEY] = True
        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
    return value


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from raycast_ai import __version__

        click.echo(f"raycast-ai {__version__}")
        ctx.exit()


@click.group(
    cls=RaycastGroup,
    help=DESCRIPTION,
    epilog=epilog(),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug,
    help=DEBUG_HELP,
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help=VERSION_HELP,
)
def cli() -> None:
    pass
