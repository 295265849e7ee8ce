"""`raycast-ai logs`: the conversation log, listed, searched, switched off and on."""

from __future__ import annotations

import json

import click

from raycast_ai.history import Exchange, file_text

from . import runtime


@click.group(invoke_without_command=True)
@click.option(
    "-n",
    "--count",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    help="How many exchanges, newest last; 0 for all.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of exchanges.")
@click.option("--cid", metavar="ID", help="Only this conversation (an id or its prefix).")
@click.option(
    "-q", "--query", metavar="TEXT", help="Only exchanges whose prompt or answer has TEXT."
)
@click.pass_context
def logs(ctx: click.Context, count: int, as_json: bool, cid: str | None, query: str | None) -> None:
    """Show, search or switch off the conversation log.

    \b
        raycast-ai logs -n 10            the last ten exchanges
        raycast-ai logs -q "regex"       search prompts and answers
        raycast-ai logs --cid 3F2A       one conversation (continue it with: raycast-ai --cid 3F2A)
        raycast-ai logs off | on | path
    """
    if ctx.invoked_subcommand is not None:
        return
    from raycast_ai.protocol.errors import InvalidRequestError

    with runtime.open_history() as history:
        conversation_id = None
        if cid:
            try:
                found = history.conversation(cid)
            except LookupError as exc:
                raise InvalidRequestError(str(exc)) from None
            if found is None:
                raise InvalidRequestError(f"No logged conversation has the id '{cid}'.")
            conversation_id = found.id
        rows = history.recent(count or None, conversation_id=conversation_id, query=query or "")
    if as_json:
        click.echo(json.dumps([row.to_dict() for row in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        runtime.err("No exchanges logged yet." if not (cid or query) else "Nothing matches.")
        if not runtime.prefs().log:
            runtime.err("The log is off; 'raycast-ai logs on' switches it on.")
        return
    click.echo("\n\n".join(map(render, rows)))


def render(exchange: Exchange) -> str:
    when = exchange.started.replace("T", " ")[:19]
    usage = ""
    if exchange.input_tokens is not None or exchange.output_tokens is not None:
        usage = f", {exchange.input_tokens or 0} in / {exchange.output_tokens or 0} out"
    status = exchange.finish_reason or exchange.status
    if exchange.error:
        status = f"error: {exchange.error}"
    parts = [
        f"# {when} UTC  {exchange.model}  conversation {exchange.conversation_id}",
        f"({status}{usage})",
    ]
    if exchange.system:
        parts += ["", "## System", "", exchange.system]
    parts += ["", "## Prompt", "", exchange.prompt]
    if exchange.files:
        parts += ["", "## Attachments", "", *(f"- {file_text(f)}" for f in exchange.files)]
    parts += ["", "## Response", "", exchange.response]
    return "\n".join(parts).rstrip("\n")


@logs.command()
def off() -> None:
    """Stop logging new exchanges."""
    runtime.set_prefs(log=False)
    click.echo("Logging is off.")


@logs.command()
def on() -> None:
    """Log every exchange (the default)."""
    runtime.set_prefs(log=None)
    click.echo("Logging is on.")


@logs.command()
def path() -> None:
    """Print where the log is."""
    from raycast_ai.history import LOG_FILE

    click.echo(runtime.home() / LOG_FILE)


@logs.command()
def status() -> None:
    """Say whether logging is on, where the log is and how much it holds."""
    from raycast_ai.history import LOG_FILE

    location = runtime.home() / LOG_FILE
    state = "on" if runtime.prefs().log else "off"
    if location.exists():
        with runtime.open_history() as history:
            count = history.count()
            held = f"{count} exchange{'' if count == 1 else 's'}"
        click.echo(f"Logging is {state}: {location} ({held}).")
    else:
        click.echo(f"Logging is {state}: {location} (not created yet).")
