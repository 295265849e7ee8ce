"""The `raycast-ai` click group: commands load only when they run.

`raycast-ai "PROMPT"` runs `ask`: an unknown first argument falls back to it, except a lone
word that looks like a mistyped command (or `help`), which is refused rather than sent as a
paid prompt. Errors are mapped here, once, to one line on stderr and an exit code (see
`errors`); with `--json`, also to a JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
from importlib import import_module
from typing import Any, NoReturn

import click

from .commands import COMMANDS, DEBUG_HELP, DESCRIPTION, MODULES, VERSION_HELP, epilog

DEFAULT_COMMAND = "ask"
# difflib's ratio above which a lone word is taken for a mistyped command ("modles", "chta").
NEAR_MISS = 0.75
_GROUP_FLAGS = frozenset({"--debug", "--version", "--help", "-h"})
DEBUG_KEY = "raycast_ai.debug"
JSON_KEY = "raycast_ai.json"


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
        from . import errors

        ctx.meta[JSON_KEY] = wants_json(args)
        # Completing the first word (no args yet) lists the commands, whatever stdin is.
        routed = with_default_command(args) if args or not ctx.resilient_parsing else args
        if routed != args and not ctx.resilient_parsing:
            hint = mistyped(self._prompt(ctx, routed[routed.index(DEFAULT_COMMAND) + 1 :]))
            if hint is not None:
                _fail(ctx, click.UsageError(hint), errors.USAGE)
        return super().parse_args(ctx, routed)

    def _prompt(self, ctx: click.Context, args: list[str]) -> list[str]:
        """The PROMPT words `ask` would get from `args` (its options and their values aside)."""
        command = self.get_command(ctx, DEFAULT_COMMAND)
        assert command is not None
        with command.make_context(
            DEFAULT_COMMAND, list(args), parent=ctx, resilient_parsing=True
        ) as parsed:
            return list(parsed.params.get("prompt") or ())

    def invoke(self, ctx: click.Context) -> Any:
        from raycast_ai.protocol.errors import RaycastError

        from . import errors

        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if ctx.meta.get(JSON_KEY):
                _fail(ctx, exc, exc.exit_code)
            raise
        except (click.exceptions.Exit, click.Abort, BrokenPipeError):
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
            code = errors.exit_code(exc)
            if ctx.meta.get(JSON_KEY):
                click.echo(json.dumps(errors.as_json(exc, line, code), ensure_ascii=False))
            click.echo(f"Error: {' '.join(line.split())}", err=True)
            raise click.exceptions.Exit(code) from None


def _fail(ctx: click.Context, exc: click.ClickException, code: int) -> NoReturn:
    """A usage error as its one line on stderr (and, with --json, as JSON on stdout)."""
    from . import errors

    line = " ".join(exc.format_message().split())
    if ctx.meta.get(JSON_KEY):
        click.echo(json.dumps(errors.as_json(exc, line, code), ensure_ascii=False))
    click.echo(f"Error: {exc.format_message()}", err=True)
    raise click.exceptions.Exit(code)


def wants_json(args: list[str]) -> bool:
    """Whether `--json` is among the options (not after `--`, where it is prompt text)."""
    head = args[: args.index("--")] if "--" in args else args
    return "--json" in head


def mistyped(words: list[str]) -> str | None:
    """What to say when the prompt is one word that looks like a command (or `help`), which
    is far more often a typo than a question worth paying for; else None."""
    if len(words) != 1 or words[0].startswith("-") or len(words[0].split()) != 1:
        return None
    word = words[0]
    if word.lower() == "help":
        fix = "For help: raycast-ai --help, or raycast-ai COMMAND --help."
    else:
        import difflib

        close = difflib.get_close_matches(word.lower(), list(COMMANDS), n=1, cutoff=NEAR_MISS)
        if not close:
            return None
        fix = f"Did you mean 'raycast-ai {close[0]}'?"
    return f"'{word}' is not a command. {fix}\nTo ask it as a question: raycast-ai ask {word}"


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
