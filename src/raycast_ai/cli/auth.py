"""`raycast-ai auth`: the token, signing secret and device id in credentials.json.

A value comes from a flag, else the environment, else the stored file (`config.load_settings`);
`status` says which, and never prints a secret.
"""

from __future__ import annotations

import click

from raycast_ai.config import CREDENTIALS_FILE, DEVICE_ID_FILE, ENV, load_settings, update_json

from . import runtime
from .login import import_, login, status_lines

LABELS = {
    "token": "token",
    "signing_secret": "signing secret",
    "device_id": "device id",
    "base_url": "base URL",
}
SECRETS = frozenset({"token", "signing_secret"})


@click.group()
def auth() -> None:
    """Sign in, set, show or remove the Raycast credentials."""


auth.add_command(login)
auth.add_command(import_)


@auth.command(name="set")
@click.option("--token", help="The Raycast access token (Bearer).")
@click.option("--signing-secret", help="The secret that signs requests (X-Raycast-Signature-v2).")
@click.option("--device-id", help="64 hex characters; generated once when not given.")
@click.option("--base-url", help="Another backend, e.g. a local 'raycast-ai emulate'.")
def set_(
    token: str | None, signing_secret: str | None, device_id: str | None, base_url: str | None
) -> None:
    """Store credentials in the data folder (a file only you can read).

    Without flags, asks for each value without echoing it; an empty answer keeps the stored one.
    """
    from raycast_ai.protocol.signing import is_device_id

    if token is None and signing_secret is None and device_id is None and base_url is None:
        if not runtime.stdin_is_tty():
            raise click.UsageError(
                "Not a terminal: pass --token, --signing-secret and/or --device-id."
            )
        token = click.prompt("Raycast token", default="", show_default=False, hide_input=True)
        signing_secret = click.prompt(
            "Signing secret", default="", show_default=False, hide_input=True
        )
        device_id = click.prompt(
            "Device id (empty: keep or generate one)", default="", show_default=False
        )
    changes = {
        key: value.strip()
        for key, value in (
            ("token", token),
            ("signing_secret", signing_secret),
            ("device_id", device_id),
            ("base_url", base_url),
        )
        if value and value.strip()
    }
    if "device_id" in changes and not is_device_id(changes["device_id"]):
        raise click.BadParameter(
            "a device id is 64 hexadecimal characters.", param_hint="device id"
        )
    if "base_url" in changes and not changes["base_url"].startswith(("http://", "https://")):
        raise click.BadParameter("it must start with http:// or https://.", param_hint="base URL")
    path = runtime.home() / CREDENTIALS_FILE
    if not changes:
        click.echo("Nothing changed.")
        return
    update_json(path, **changes)
    names = [LABELS[k] for k in changes]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    click.echo(f"Saved the {listed} to {path}.")
    for key in changes:
        if _env(key):
            runtime.err(f"note: {ENV[key]} is set in the environment and wins over the file.")


def _where(source: str) -> str:
    """ "environment (RAYCAST_TOKEN)" as "environment RAYCAST_TOKEN"."""
    kind, _, detail = source.partition(" (")
    return f"{kind} {detail.removesuffix(')')}" if detail else kind


def _env(key: str) -> str:
    import os

    return os.environ.get(ENV[key], "")


@auth.command()
def status() -> None:
    """Show what is configured and where each value comes from (never the secrets)."""
    settings = load_settings()
    width = max(map(len, LABELS.values()))
    for key, label in LABELS.items():
        source = settings.sources.get(key)
        if key == "device_id" and source is None:
            stored = settings.home / DEVICE_ID_FILE
            line = (
                f"set (file {stored})"
                if stored.exists()
                else "not set (one is generated on the first request)"
            )
        elif key == "base_url":
            line = f"{settings.base_url} ({_where(source) if source else 'default'})"
        elif source is None:
            line = "not set"
        elif key in SECRETS:
            line = f"set ({_where(source)})"
        else:
            line = f"{settings.device_id} ({_where(source)})"
        click.echo(f"{label:<{width}}  {line}")
    for label, line in status_lines(settings):
        click.echo(f"{label:<{width}}  {line}")
    click.echo(f"{'data folder':<{width}}  {settings.home}")
    if not settings.token:
        runtime.err("No token: run 'raycast-ai auth set' or set RAYCAST_TOKEN.")
    elif not settings.signing_secret:
        runtime.err(
            "No signing secret: Raycast refuses unsigned chat requests. Run 'raycast-ai auth set' "
            "or set RAYCAST_SIGNING_SECRET."
        )


@auth.command()
def logout() -> None:
    """Remove the stored tokens and signing secret (the device id stays)."""
    from raycast_ai.protocol.oauth import LOGIN_KEYS

    path = runtime.home() / CREDENTIALS_FILE
    if path.exists():
        update_json(path, signing_secret=None, **dict.fromkeys(LOGIN_KEYS))
        click.echo(f"Removed the tokens and signing secret from {path}.")
    else:
        click.echo("No stored credentials.")
    for key in sorted(SECRETS):
        if _env(key):
            runtime.err(f"note: {ENV[key]} is still set in the environment.")
