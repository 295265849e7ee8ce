"""`raycast-ai aliases`: short names of your own for catalog models, kept in config.json."""

from __future__ import annotations

import json

import click

from . import runtime
from .completion import complete_model


@click.group(invoke_without_command=True)
@click.pass_context
def aliases(ctx: click.Context) -> None:
    """Short names for models.

    \b
        raycast-ai aliases set fast groq-openai/gpt-oss-20b
        raycast-ai -m fast "hello"
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@aliases.command(name="set")
@click.argument("name")
@click.argument("model", shell_complete=complete_model)
def set_(name: str, model: str) -> None:
    """Make NAME stand for MODEL (a catalog id, a model name or another alias)."""
    stored = runtime.prefs().aliases
    with runtime.make_client() as client:
        entry = client.models().resolve(model, stored)
    runtime.set_prefs(aliases={**stored, name: entry.id})
    click.echo(f"{name} -> {entry.id} ({entry.name})")


@aliases.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="A JSON object, alias to model id.")
def list_(as_json: bool = False) -> None:
    """List the aliases."""
    stored = dict(sorted(runtime.prefs().aliases.items()))
    if as_json:
        click.echo(json.dumps(stored, indent=2))
    elif not stored:
        runtime.err("No aliases yet: 'raycast-ai aliases set NAME MODEL' adds one.")
    else:
        width = max(map(len, stored))
        for name, target in stored.items():
            click.echo(f"{name:<{width}}  {target}")


@aliases.command()
@click.argument("name")
def remove(name: str) -> None:
    """Forget the alias NAME."""
    stored = dict(runtime.prefs().aliases)
    if stored.pop(name, None) is None:
        raise click.BadParameter(f"there is no alias '{name}'.", param_hint="NAME")
    runtime.set_prefs(aliases=stored or None)
    click.echo(f"Removed {name}.")
