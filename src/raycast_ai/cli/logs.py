"""`raycast-ai logs`: the conversation log, listed, searched (SQLite FTS5), shown, exported,
switched off and on, and moved aside when damaged."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from raycast_ai.history import QUERY_HELP, Conversation, Exchange, History, file_text

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
    "-q",
    "--query",
    metavar="QUERY",
    help="Only exchanges whose prompt or response matches QUERY, a full-text search in "
    f"{QUERY_HELP}.",
)
@click.pass_context
def logs(ctx: click.Context, count: int, as_json: bool, cid: str | None, query: str | None) -> None:
    """Show, search or switch off the conversation log.

    \b
        raycast-ai logs -n 10                   the last ten exchanges
        raycast-ai logs -q 'monad OR functor'   full-text search (SQLite FTS5 syntax)
        raycast-ai logs -q '"exit code"'        a phrase
        raycast-ai logs show 3F2A               one conversation, whole
        raycast-ai logs export 3F2A --format markdown
        raycast-ai --cid 3F2A "and then?"       continue it (chat --cid 3F2A too)
        raycast-ai logs off                     stop logging ('logs on' starts again)
    """
    if ctx.invoked_subcommand is not None:
        return
    logging_on = runtime.prefs().log
    with opened() as history:
        conversation_id = find(history, cid).id if cid else None
        rows = history.recent(count or None, conversation_id=conversation_id, query=query or "")
    if as_json:
        click.echo(json.dumps([row.to_dict() for row in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        runtime.err("No exchanges logged yet." if not (cid or query) else "Nothing matches.")
        if not logging_on:
            runtime.err("The log is off; 'raycast-ai logs on' switches it on.")
        return
    click.echo("\n\n".join(map(render, rows)))


@contextmanager
def opened() -> Iterator[History]:
    """The log; damage found while reading it is reported as a damaged log, with the fix."""
    from raycast_ai.history import damaged, is_damage

    with runtime.open_history() as history:
        try:
            yield history
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged(history.path, exc) from None
            raise


def find(history: History, cid: str) -> Conversation:
    from raycast_ai.protocol.errors import InvalidRequestError

    try:
        found = history.conversation(cid)
    except LookupError as exc:
        raise InvalidRequestError(str(exc)) from None
    if found is None:
        raise InvalidRequestError(
            f"No logged conversation has the id '{cid}'. Run 'raycast-ai logs' to see the ids."
        )
    return found


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
@click.argument("cid", metavar="ID")
def show(cid: str) -> None:
    """Show one whole conversation.

    ID is a conversation id or its first characters, as 'raycast-ai logs' prints them.
    """
    with opened() as history:
        rows = history.exchanges(find(history, cid).id)
    if not rows:
        runtime.err("This conversation has no exchanges.")
        return
    click.echo("\n\n".join(map(render, rows)))


@logs.command()
@click.argument("cid", metavar="ID")
@click.option(
    "--format",
    "form",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown to read or share; JSON with every field (usage, timings, errors).",
)
def export(cid: str, form: str) -> None:
    """Print a conversation as Markdown or JSON.

    ID is a conversation id or its first characters. Markdown is a transcript to read or
    share; JSON has every field of every exchange (usage, times, errors).
    """
    with opened() as history:
        conversation = find(history, cid)
        rows = history.exchanges(conversation.id)
    if form == "json":
        click.echo(json.dumps(as_json(conversation, rows), ensure_ascii=False, indent=2))
    else:
        click.echo(markdown(conversation, rows))


def as_json(conversation: Conversation, rows: list[Exchange]) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "model": conversation.model,
        "created": conversation.created,
        "exchanges": [row.to_dict() for row in rows],
    }


def markdown(conversation: Conversation, rows: list[Exchange]) -> str:
    when = conversation.created.replace("T", " ")[:19]
    out = [f"# Conversation {conversation.id}", ""]
    out.append(f"Started {when} UTC with {conversation.model}.")
    system: str | None = None
    for row in rows:
        if row.system and row.system != system:
            out += ["", "## System", "", row.system]
        system = row.system
        out += ["", "## User", "", row.prompt, "", f"## Assistant ({_facts(row)})", ""]
        out.append(row.response or "*(no answer)*")
    return "\n".join(out).rstrip("\n")


def _facts(exchange: Exchange) -> str:
    facts = [exchange.model]
    if exchange.input_tokens is not None or exchange.output_tokens is not None:
        facts.append(f"{exchange.input_tokens or 0} in / {exchange.output_tokens or 0} out")
    if exchange.error:
        facts.append(f"error: {exchange.error}")
    elif exchange.status == "unfinished":
        facts.append("unfinished")
    return ", ".join(facts)


@logs.command()
def repair() -> None:
    """Move a damaged log aside and start a new one.

    The log is checked first; only a damaged one is moved, and it is kept, renamed to
    logs.db.corrupt-TIME, for recovery.
    """
    from raycast_ai.history import LOG_FILE, check, move_aside

    location = runtime.home() / LOG_FILE
    if not location.exists():
        click.echo(f"There is no log yet ({location}).")
        return
    problem = check(location)
    if problem is None:
        click.echo(f"The log is fine: {location}. Nothing was changed.")
        return
    kept = move_aside(location)
    click.echo(f"The log was damaged ({problem}).")
    click.echo(f"Moved it to {kept}; a new log starts with the next exchange.")


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
        with opened() as history:
            count = history.count()
            held = f"{count} exchange{'' if count == 1 else 's'}"
        click.echo(f"Logging is {state}: {location} ({held}).")
    else:
        click.echo(f"Logging is {state}: {location} (not created yet).")
