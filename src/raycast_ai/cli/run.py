"""`raycast-ai run TITLE`: an imported AI Command, its placeholders filled, answered like `ask`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

import click

from . import runtime, saved

if TYPE_CHECKING:
    from raycast_ai.client import RaycastClient
    from raycast_ai.protocol.catalog import ModelEntry

    from .placeholders import Argument, Template


@click.command()
@click.argument("title", nargs=-1, required=True)
@click.option(
    "--arg",
    "given",
    multiple=True,
    metavar="NAME=VALUE",
    help='A value for {argument name="NAME"}; repeatable.',
)
@click.option("-m", "--model", help="Another model than the command's (id, model name or alias).")
@click.option(
    "--temperature",
    type=click.FloatRange(0, 2),
    help="Sampling temperature, 0 to 2, instead of the command's creativity.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, as 'ask --json'.")
@click.option("-x", "--extract", is_flag=True, help="Print only the first fenced code block.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="Longest silence to wait for, before and during the answer (default 60).",
)
@click.option("--no-log", is_flag=True, help="Do not write this exchange to the log.")
@click.option("--no-md", is_flag=True, help="Print raw text even on a terminal.")
def run(
    title: tuple[str, ...],
    given: tuple[str, ...],
    model: str | None,
    temperature: float | None,
    as_json: bool,
    extract: bool,
    timeout: float | None,
    no_log: bool,
    no_md: bool,
) -> None:
    """Run an imported AI Command.

    TITLE is one of 'raycast-ai commands list' (any case).

    \b
        pbpaste | raycast-ai run "Improve Writing"
        raycast-ai run "Translate" --arg language=German < notes.txt

    {selection} is the text piped in (text piped to a command without it is added after
    the prompt); {argument name="x"} comes from --arg x=VALUE, else its default, else (on a
    terminal) a question; {clipboard} is read with pbpaste, wl-paste, xclip or xsel;
    {date}, {time}, {datetime}, {day} and {uuid} are filled in. Other placeholders are sent as
    written, with a warning. Creativity none, low, medium, high and maximum are the
    temperatures 0, 0.4, 0.7, 1.0 and 1.3.
    """
    if as_json and extract:
        raise click.UsageError("Use --json or --extract, not both.")
    command = saved.find_command(saved.load_commands(), " ".join(title))
    prompt = fill(command, parse_given(given), runtime.read_stdin())
    from .exchange import open_session, terminate_gracefully
    from .output import make_output

    output = make_output(markdown=not no_md, extract=extract, quiet=as_json, reasoning=None)
    with runtime.make_client(timeout=timeout) as client:
        entry = pick_model(client, command, model)
        with (
            open_session(client, model=entry.id, log=runtime.prefs().log and not no_log) as session,
            terminate_gracefully(),
        ):
            answer = session.ask(
                prompt,
                output,
                temperature=temperature if temperature is not None else command.temperature,
            )
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))


def parse_given(given: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"'{item}' is not NAME=VALUE.", param_hint="--arg")
        values[name.strip()] = value
    return values


def fill(command: saved.AICommand, given: Mapping[str, str], piped: str) -> str:
    """The prompt to send: placeholders filled, piped text added when none takes it."""
    from .placeholders import Template

    template = Template.parse(command.prompt)
    piped = piped.rstrip("\n")
    context: dict[str, str] = {}
    if template.needs("selection"):
        if not piped.strip():
            raise click.UsageError(
                f"'{command.title}' works on a selection ({{selection}}): pipe the text in, "
                f'e.g. pbpaste | raycast-ai run "{command.title}".'
            )
        context["selection"] = piped
    if template.needs("clipboard"):
        from .clipboard import read_clipboard

        context["clipboard"] = read_clipboard()
    context.update(moment())
    arguments = resolve_arguments(command.title, template, given)
    unsupported = template.unsupported()
    if unsupported:
        runtime.err(f"warning: sent as written, not filled in: {', '.join(unsupported)}")
    prompt = template.fill(context, arguments)
    if piped.strip() and not template.needs("selection"):
        prompt = f"{prompt.rstrip()}\n\n{piped}"
    return prompt


def moment() -> dict[str, str]:
    now = datetime.now().astimezone()
    date, time = f"{now.day} {now:%B %Y}", f"{now:%H:%M}"
    return {
        "date": date,
        "time": time,
        "datetime": f"{date} {time}",
        "day": f"{now:%A}",
        "uuid": str(uuid4()),
    }


def resolve_arguments(title: str, template: Template, given: Mapping[str, str]) -> dict[str, str]:
    """Each argument from --arg, else (on a terminal) asked for, else its default."""
    wanted = template.arguments()
    names = [a.name for a in wanted]
    extra = [name for name in given if name not in names]
    if extra:
        takes = f"its arguments: {', '.join(names)}" if names else "it takes none"
        raise click.BadParameter(
            f"'{title}' has no argument '{extra[0]}' ({takes}).", param_hint="--arg"
        )
    values: dict[str, str] = {}
    for argument in wanted:
        if argument.name in given:
            values[argument.name] = _checked(argument, given[argument.name])
        elif runtime.stdin_is_tty():
            values[argument.name] = _ask(argument)
        elif argument.default is not None:
            values[argument.name] = argument.default
        else:
            raise click.UsageError(
                f"'{title}' needs --arg {argument.name}=VALUE (there is no terminal to ask for it)."
            )
    return values


def _checked(argument: Argument, value: str) -> str:
    if argument.options and value not in argument.options:
        raise click.BadParameter(
            f"{argument.name} must be one of {', '.join(argument.options)}, not '{value}'.",
            param_hint="--arg",
        )
    return value


def _ask(argument: Argument) -> str:
    choice = click.Choice(argument.options) if argument.options else None
    value: str = click.prompt(
        argument.name,
        default=argument.default,
        type=choice,
        err=True,
        show_choices=bool(argument.options),
    )
    return value


def pick_model(client: RaycastClient, command: saved.AICommand, model: str | None) -> ModelEntry:
    """-m, else the command's model, else the default model, resolved in the catalog."""
    from raycast_ai.protocol.errors import ModelNotFoundError

    prefs = runtime.prefs()
    catalog = client.models()
    name = model or command.model or prefs.default_model
    if name is None:
        return catalog.default("commands")
    try:
        return catalog.resolve(name, prefs.aliases)
    except ModelNotFoundError as exc:
        if model is not None or name != command.model:
            raise
        hint = f" Did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        raise ModelNotFoundError(
            f"The AI Command '{command.title}' asks for the model '{name}', which is not in "
            f"Raycast's catalog.{hint} Pass -m MODEL to use another ('raycast-ai models' "
            "lists them).",
            model=name,
            suggestions=exc.suggestions,
        ) from None
