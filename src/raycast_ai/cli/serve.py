"""`raycast-ai serve`: the OpenAI-compatible gateway (`raycast_ai.server.serve`)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from . import runtime


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="A key clients must send (repeatable; default: RAYCAST_AI_API_KEYS). Required "
    "beyond loopback. Visible to every local user in the process list: prefer "
    "--api-key-file, RAYCAST_AI_API_KEYS or '--api-key -' (read from stdin).",
)
@click.option(
    "--api-key-file",
    "key_files",
    multiple=True,
    metavar="PATH",
    type=click.Path(exists=True, dir_okay=False),
    help="Read keys from PATH, one per line ('#' starts a comment; repeatable).",
)
@click.option("--api-key-stdin", is_flag=True, help="Read keys from stdin, one per line.")
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Answer requests whose Host is NAME (repeatable; *.example.com for subdomains, * for "
    "any). IP addresses and localhost are always answered; other names are refused (421), "
    "which stops DNS rebinding.",
)
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    metavar="NAME=MODEL",
    callback=lambda ctx, param, value: _aliases(value),
    help="Answer requests for NAME with catalog model MODEL (repeatable), e.g. "
    "--alias claude-sonnet-4-5-20250929=anthropic-claude-sonnet-4. Added to the aliases of "
    "'raycast-ai aliases set'.",
)
@click.option(
    "--attachment-host",
    "attachment_hosts",
    multiple=True,
    metavar="HOST",
    help="Fetch images and files that requests name by an http(s) URL from HOST (repeatable; "
    "example.com, example.com:8443 or *.example.com). Without it every URL is refused and "
    "clients must send data URLs or base64. Added to 'attachment_hosts' in config.json.",
)
@click.option(
    "--attachment-limit",
    type=click.FloatRange(0, min_open=True),
    metavar="MB",
    help="The largest file a request may attach, in MB (default 20; the body limit grows with it).",
)
@click.option(
    "--accounts",
    "accounts_file",
    metavar="FILE",
    help="Spread requests over the Raycast accounts of FILE, [[accounts]] tables with a name, "
    "a token (or token_env) and optionally a device_id and pinned keys (default: "
    "RAYCAST_AI_ACCOUNTS, else accounts.toml in the data folder when it exists). An account "
    "Raycast rate-limits rests until its retry-after. See 'Several Raycast accounts' in the "
    "README.",
)
@click.option(
    "--store",
    "store_url",
    envvar="RAYCAST_AI_STORE",
    metavar="URL",
    callback=lambda ctx, param, value: _store(value),
    help="Share stored responses, rate limits, usage and account cooldowns with other replicas "
    "through the Redis at URL (redis://HOST:PORT/DB; default: RAYCAST_AI_STORE, else SQLite "
    "in the data folder and memory, for one process).",
)
@click.option(
    "--rate-limit",
    metavar="N/UNIT",
    callback=lambda ctx, param, value: _rate_limit(value),
    help="At most N chat requests per gateway key per s, min or hour (e.g. 60/min), counted "
    "across replicas with --store; beyond it, 429 with retry-after.",
)
@click.option(
    "--rate-limit-fail",
    type=click.Choice(["open", "closed"]),
    default="open",
    show_default=True,
    help="While the store cannot count requests (Redis away): let them through (open) or "
    "refuse them with 503 (closed).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
)
def serve(
    host: str,
    port: int,
    api_keys: tuple[str, ...],
    key_files: tuple[str, ...],
    api_key_stdin: bool,
    allowed_hosts: tuple[str, ...],
    aliases: dict[str, str],
    attachment_hosts: tuple[str, ...],
    attachment_limit: float | None,
    accounts_file: str | None,
    store_url: str | None,
    rate_limit: Any,
    rate_limit_fail: str,
    log_level: str,
) -> None:
    """Run the OpenAI-compatible gateway.

    Point any OpenAI client at it:

    \b
        raycast-ai serve
        export OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=unused
    """
    from raycast_ai import server

    api_keys = _keys(api_keys, key_files, api_key_stdin)
    # Refusals first (no key beyond loopback, a damaged config.json or accounts file, a busy
    # port): nothing is printed for a gateway that will not start.
    settings = server.GatewaySettings.from_env(api_keys)
    server.check_bind(host, settings)
    runtime.prefs()
    path = server.accounts_path(accounts_file)
    accounts = server.load_accounts(path)
    server.check_pins(accounts, settings.api_keys)
    sock = server.listen(host, port)

    def run(*args: Any, **options: Any) -> None:
        try:
            server.serve(*args, sock=sock, **options)
        finally:
            sock.close()

    shown = f"[{host}]" if ":" in host else host
    port = sock.getsockname()[1]
    runtime.err(f"OpenAI-compatible gateway on http://{shown}:{port}/v1 (Ctrl+C stops it)")
    if accounts:
        names = ", ".join(account.name for account in accounts)
        runtime.err(f"Raycast accounts: {names} (from {path})")
    for line in _about(settings.api_keys, store_url, rate_limit, rate_limit_fail):
        runtime.err(line)
    # uvicorn stops cleanly on Ctrl+C, then raises it again: here it is the normal way out.
    with contextlib.suppress(KeyboardInterrupt):
        prefs = runtime.prefs()
        every = {**prefs.aliases, **aliases}
        options: dict[str, Any] = {
            "attachment_hosts": (*prefs.attachment_hosts, *attachment_hosts),
            "allowed_hosts": allowed_hosts,
            "store_url": store_url,
            "rate_limit": rate_limit,
            "rate_limit_fail": rate_limit_fail,
        }
        if attachment_limit is not None:
            options["max_attachment_bytes"] = int(attachment_limit * 1_000_000)
        run(host, port, api_keys, log_level=log_level, aliases=every, accounts=accounts, **options)


def _keys(given: tuple[str, ...], files: tuple[str, ...], stdin: bool) -> tuple[str, ...]:
    """The keys of the flags, files and stdin ('-' among the flags reads it too)."""
    on_argv = [k for k in given if k != "-"]
    if on_argv:
        runtime.err(
            "Warning: an API key on the command line is visible to every local user in the "
            "process list. Use --api-key-file PATH, RAYCAST_AI_API_KEYS or '--api-key -'."
        )
    texts = [Path(f).read_text(encoding="utf-8") for f in files]
    if stdin or "-" in given:
        texts.append(sys.stdin.read())
    from_text = [line.split("#", 1)[0].strip() for text in texts for line in text.splitlines()]
    keys = (*on_argv, *(k for k in from_text if k))
    if (files or stdin or "-" in given) and len(keys) == len(on_argv):
        raise click.BadParameter(
            "No key found: write one key per line.",
            param_hint="--api-key-file" if files else "--api-key-stdin",
        )
    return keys


def _about(keys: tuple[str, ...], store: str | None, limit: Any, fail: str) -> list[str]:
    """What a user needs to know of the gateway's setup: each key by its id (the name usage
    and limits use; never the key), the store, the rate limit."""
    from raycast_ai.server.security import hash_key, key_id
    from raycast_ai.store.shared import redacted

    lines = [f"Key {n}: {key_id(hash_key(key))}" for n, key in enumerate(keys, 1)]
    if store is not None:
        lines.append(f"Shared store: Redis at {redacted(store)}")
    if limit is not None:
        from raycast_ai.store.limits import describe

        lines.append(
            f"Rate limit: {describe(limit)} per key (failing {fail} when the store is away)"
        )
    return lines


def _store(value: str | None) -> str | None:
    if not value:
        return None
    from raycast_ai.store.shared import check_store_url, redis_missing

    try:
        check_store_url(value)
        missing = redis_missing()
        if missing is not None:
            raise ValueError(missing)
        return value
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--store / RAYCAST_AI_STORE") from None


def _rate_limit(value: str | None) -> Any:
    if value is None:
        return None
    from raycast_ai.store.limits import parse_rate_limit

    try:
        return parse_rate_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rate-limit") from None


def _aliases(values: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, model = value.partition("=")
        if not sep or not name.strip() or not model.strip():
            raise click.BadParameter(
                f"'{value}' is not NAME=MODEL, e.g. gpt-5-codex=openai-gpt-4o.",
                param_hint="--alias",
            )
        pairs[name.strip()] = model.strip()
    return pairs
