"""`raycast-ai completion SHELL`: click's completion script for bash, zsh or fish, and the
completion of model names from the cached catalog (never a network call: a shell waits on it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_RAYCAST_AI_COMPLETE"
# raycast_ai.client's MODELS_CACHE_FILE, without importing the client (and httpx2) on each <Tab>.
MODELS_CACHE_FILE = "models-cache.json"


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script (bash, zsh, fish).

    It completes commands, options, and model ids and aliases for -m (from the models list
    fetched last, so run 'raycast-ai models' once).

    \b
        raycast-ai completion bash > ~/.raycast-ai.bash    then in ~/.bashrc: . ~/.raycast-ai.bash
        raycast-ai completion zsh > ~/.raycast-ai.zsh      then in ~/.zshrc: . ~/.raycast-ai.zsh
        raycast-ai completion fish > ~/.config/fish/completions/raycast-ai.fish
    """
    from click.shell_completion import get_completion_class

    from .app import cli

    kind = get_completion_class(shell)
    assert kind is not None
    click.echo(kind(cli, {}, "raycast-ai", COMPLETE_VAR).source())


def complete_model(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Catalog ids (with their names) and the user's aliases that start with `incomplete`."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(n, help=about) for n, about in model_names() if n.startswith(incomplete)]


def model_names() -> list[tuple[str, str]]:
    """(id, name) of the cached catalog's current models, then (alias, target); nothing when
    there is no cache or it cannot be read."""
    from raycast_ai.config import CONFIG_FILE, data_dir, read_json
    from raycast_ai.protocol.catalog import Catalog
    from raycast_ai.protocol.errors import RaycastError

    home = data_dir()
    names: list[tuple[str, str]] = []
    try:
        catalog = Catalog.parse(read_json(home / MODELS_CACHE_FILE).get("payload"))
        names += [(e.id, e.name) for e in catalog.visible(premium=True, deprecated=False)]
    except (RaycastError, OSError):
        pass
    try:
        aliases = read_json(home / CONFIG_FILE).get("aliases")
    except (RaycastError, OSError):
        aliases = None
    if isinstance(aliases, dict):
        names += [(str(k), f"alias of {v}") for k, v in sorted(aliases.items())]
    return names
