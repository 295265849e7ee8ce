"""`raycast-ai roles`: saved system prompts, used with `ask --role NAME` and `chat --role NAME`."""

from __future__ import annotations

import json

import click

from . import runtime, saved


@click.group(invoke_without_command=True)
@click.pass_context
def roles(ctx: click.Context) -> None:
    """Saved system prompts for ask and chat.

    \b
        raycast-ai roles set reviewer "You review Python code. Be blunt and brief."
        git diff | raycast-ai --role reviewer "review this"
        raycast-ai chat --role reviewer
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@roles.command(name="set")
@click.argument("name")
@click.argument("text", required=False)
def set_(name: str, text: str | None) -> None:
    """Save TEXT as the role NAME (TEXT piped in when not given); replaces NAME's text."""
    if text is None:
        text = runtime.read_stdin().strip()
    if not text or not text.strip():
        raise click.UsageError(
            f'Give the role\'s text: raycast-ai roles set {name} "TEXT", or pipe it in.'
        )
    if not name.strip() or name.startswith("-"):
        raise click.BadParameter(f"'{name}' cannot be a role name.", param_hint="NAME")
    stored = saved.load_roles()
    replaced = name in stored
    saved.save_roles({**stored, name: text})
    click.echo(f"{'Replaced' if replaced else 'Saved'} the role {name}.")


@roles.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="A JSON object, name to text.")
def list_(as_json: bool = False) -> None:
    """List the roles with the start of their text."""
    stored = dict(sorted(saved.load_roles().items()))
    if as_json:
        click.echo(json.dumps(stored, ensure_ascii=False, indent=2))
        return
    if not stored:
        runtime.err("No roles yet: 'raycast-ai roles set NAME TEXT' saves one.")
        return
    width = max(map(len, stored))
    for name, text in stored.items():
        first = " ".join(text.split())
        click.echo(f"{name:<{width}}  {first[:60] + '…' if len(first) > 60 else first}")


@roles.command()
@click.argument("name")
def show(name: str) -> None:
    """Print the text of the role NAME."""
    click.echo(saved.system_prompt(name, None))


@roles.command()
@click.argument("name")
def remove(name: str) -> None:
    """Forget the role NAME."""
    stored = saved.load_roles()
    if name not in stored:
        saved.system_prompt(name, None)  # the error that lists the roles
    del stored[name]
    saved.save_roles(stored)
    click.echo(f"Removed the role {name}.")
