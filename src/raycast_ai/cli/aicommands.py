"""`raycast-ai commands`: the AI Commands exported from Raycast, imported, listed, removed.

(The module is not called `commands`: that one is the table of top-level commands.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import runtime, saved


@click.group(invoke_without_command=True)
@click.pass_context
def commands(ctx: click.Context) -> None:
    """Import and list AI Commands exported from Raycast.

    \b
        raycast-ai commands import ~/Downloads/ai-commands.json
        raycast-ai commands list
        git diff | raycast-ai run "Write Commit Message"

    Raycast exports them from Search AI Commands (its Export AI Commands action).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@commands.command(name="import")
@click.argument("file")
def import_(file: str) -> None:
    """Add the AI Commands in FILE (Raycast's JSON export; - reads stdin).

    A command whose title is already there is replaced by the imported one.
    """
    from raycast_ai.protocol.errors import InvalidRequestError

    fix = "Export the AI Commands from Raycast again and import that file."
    source = "stdin" if file == "-" else file
    if source == "stdin":
        text = sys.stdin.read()
    else:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InvalidRequestError(f"Cannot read the export {file}: {reason}.") from None
    payload = saved.decode_json(text, source, fix)
    imported = saved.parse_commands(payload, source)
    if not imported:
        runtime.err(f"{source} holds no AI Commands; nothing imported.")
        return
    stored = saved.load_commands()
    keys = {c.title.lower() for c in stored}
    replaced = [c.title for c in imported if c.title.lower() in keys]
    fresh = {c.title.lower(): c for c in imported}  # a title twice in the file: the last wins
    kept = [c for c in stored if c.title.lower() not in fresh]
    saved.save_commands([*kept, *fresh.values()])
    added = len(fresh) - len(set(map(str.lower, replaced)))
    click.echo(f"Imported {len(fresh)} AI Command{_s(len(fresh))} ({added} new).")
    if replaced:
        click.echo(f"Replaced: {', '.join(dict.fromkeys(replaced))}.")


@commands.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of the commands, prompts too.")
def list_(as_json: bool = False) -> None:
    """List the imported commands: title, model, creativity."""
    stored = sorted(saved.load_commands(), key=lambda c: c.title.lower())
    if as_json:
        listed = [{**c.to_json(), "temperature": c.temperature} for c in stored]
        click.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    if not stored:
        runtime.err("No AI Commands yet: 'raycast-ai commands import FILE' adds Raycast's export.")
        return
    rows = [("TITLE", "MODEL", "CREATIVITY")]
    rows += [(c.title, c.model or "(default)", _creativity(c)) for c in stored]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for title, model, creativity in rows:
        click.echo(f"{title:<{widths[0]}}  {model:<{widths[1]}}  {creativity}".rstrip())


@commands.command()
@click.argument("title", nargs=-1, required=True)
def show(title: tuple[str, ...]) -> None:
    """Print the prompt of the command TITLE and what it asks for."""
    from .placeholders import Template

    command = saved.find_command(saved.load_commands(), " ".join(title))
    template = Template.parse(command.prompt)
    click.echo(command.prompt.rstrip("\n"))
    needs = [f"{{{kind}}}" for kind in ("selection", "clipboard") if template.needs(kind)]
    for argument in template.arguments():
        default = f" (default {argument.default!r})" if argument.default is not None else ""
        needs.append(f"--arg {argument.name}=…{default}")
    if needs:
        runtime.err(f"\nNeeds: {'; '.join(needs)}", dim=True)


@commands.command()
@click.argument("title", nargs=-1, required=True)
def remove(title: tuple[str, ...]) -> None:
    """Forget the command TITLE."""
    stored = saved.load_commands()
    command = saved.find_command(stored, " ".join(title))
    saved.save_commands([c for c in stored if c is not command])
    click.echo(f"Removed {command.title}.")


def _creativity(command: saved.AICommand) -> str:
    if command.creativity is None:
        return "(default)"
    if isinstance(command.creativity, str):
        return f"{command.creativity} ({command.temperature:g})"
    return f"{command.creativity:g}"


def _s(count: int) -> str:
    return "" if count == 1 else "s"
