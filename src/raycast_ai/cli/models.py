"""`raycast-ai models`: the catalog as a table or JSON, and the default model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from . import runtime
from .completion import complete_model

if TYPE_CHECKING:
    from raycast_ai.protocol.catalog import Catalog, ModelEntry


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of the models.")
@click.option("--all", "show_all", is_flag=True, help="Include deprecated models.")
@click.option("--refresh", is_flag=True, help="Fetch the list again instead of the hour's copy.")
@click.pass_context
def models(ctx: click.Context, as_json: bool, show_all: bool, refresh: bool) -> None:
    """List the models, or set the default one.

    \b
        raycast-ai models                           ids, names, providers; * the default
        raycast-ai models default openai-gpt-4o     use it when no -m is given
        raycast-ai aliases set fast openai-gpt-4o   a short name of your own

    Pro models need Raycast Pro (or the AI add-on); deprecated ones show with --all.
    """
    if ctx.invoked_subcommand is not None:
        return
    with runtime.make_client() as client:
        catalog = client.models(refresh=refresh)
    default = current_default(catalog)
    entries = catalog.visible(premium=True, deprecated=show_all)
    if as_json:
        rows = [entry_json(e, default) for e in entries]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(table(entries, default, color=runtime.stdout_is_tty() and not runtime.no_color()))


def current_default(catalog: Catalog) -> str:
    """The stored default's catalog id if the catalog knows it, else the catalog's default."""
    stored = runtime.prefs()
    if stored.default_model:
        from raycast_ai.protocol.errors import ModelNotFoundError

        try:
            return catalog.resolve(stored.default_model, stored.aliases).id
        except ModelNotFoundError:
            runtime.err(
                f"warning: the stored default model '{stored.default_model}' is not in the "
                "catalog any more; using Raycast's default.",
            )
    return catalog.default().id


def entry_json(entry: ModelEntry, default: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "model": entry.model,
        "provider": entry.provider,
        "provider_name": entry.provider_name,
        "context": entry.context,  # thousands of tokens, as Raycast gives it
        "premium": entry.requires_better_ai,
        "deprecated": entry.deprecated,
        "reasoning_efforts": list(entry.reasoning_efforts),
        "default": entry.id == default,
    }


def table(entries: Sequence[ModelEntry], default: str, *, color: bool = False) -> str:
    header = ("", "ID", "NAME", "PROVIDER", "CONTEXT", "")
    rows = [header]
    for e in entries:
        flags = " ".join(
            f for f, on in (("pro", e.requires_better_ai), ("deprecated", e.deprecated)) if on
        )
        rows.append(
            (
                "*" if e.id == default else "",
                e.id,
                e.name,
                e.provider_name or e.provider,
                f"{e.context}k" if e.context else "",
                flags,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        cells[4] = row[4].rjust(widths[4])
        line = " ".join(cells).rstrip()
        if color and n == 0:
            line = click.style(line, bold=True)
        elif color and row[0]:
            line = click.style(line, fg="green")
        lines.append(line)
    return "\n".join(lines)


@models.command(name="default")
@click.argument("model", required=False, shell_complete=complete_model)
def default_(model: str | None) -> None:
    """Show the default model, or make MODEL (an id, name or alias) the default."""
    with runtime.make_client() as client:
        catalog = client.models()
        if model is None:
            chosen = catalog.get(current_default(catalog))
            click.echo(f"{chosen.id} ({chosen.name})" if chosen else catalog.default().id)
            return
        entry = catalog.resolve(model, runtime.prefs().aliases)
    runtime.set_prefs(default_model=entry.id)
    click.echo(f"The default model is now {entry.id} ({entry.name}).")
