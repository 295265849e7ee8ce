"""`raycast-ai emulate`: the local Raycast backend emulator, in the foreground."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Listen beyond loopback although the emulator's token and secret are public.",
)
@click.option(
    "--chunks",
    type=click.IntRange(0),
    default=12,
    show_default=True,
    help="Text pieces per answer.",
)
@click.option(
    "--chunk-delay",
    type=click.FloatRange(0),
    default=0.0,
    metavar="SECONDS",
    help="Pause between pieces.",
)
@click.option("--no-signature", is_flag=True, help="Accept unsigned chat requests.")
@click.option(
    "--script",
    metavar="FILE",
    envvar="RAYCAST_AI_EMULATOR_SCRIPT",
    help="A JSON script of tool calls to make and answers to give (or the JSON itself; "
    "default: RAYCAST_AI_EMULATOR_SCRIPT), for driving coding agents.",
)
@click.option(
    "--token-ttl",
    type=click.FloatRange(1),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Lifetime of the rca_ access tokens that sign-in issues.",
)
@click.option(
    "--refresh",
    type=click.Choice(["keep", "rotate", "omit"]),
    default="keep",
    show_default=True,
    help="What a refresh grant does with the refresh token: repeat it, replace it (the old "
    "one is revoked) or leave it out of the reply.",
)
@click.option("--client-id", help="The only OAuth client id accepted (default: any).")
@click.option(
    "--credits",
    "credits_profile",
    type=click.Choice(["strings", "numbers", "exhausted"]),
    default="strings",
    show_default=True,
    help="The /api/v1/ai/credits reply: amounts as strings, as fractional numbers, or none left.",
)
def emulate(
    host: str,
    port: int,
    allow_remote: bool,
    chunks: int,
    chunk_delay: float,
    no_signature: bool,
    script: str | None,
    token_ttl: float,
    refresh: str,
    client_id: str | None,
    credits_profile: str,
) -> None:
    """Run the local Raycast backend emulator.

    It answers with deterministic text; words in a prompt shape the answer: @fault:NAME
    (401, 403, 429, 500, 503, reset-mid, stall, truncate, malformed, context_error,
    credits_error, free_trial, ...), @chunks:N, @delay:SECONDS. It also signs you in
    (RAYCAST_WEB_URL=its address raycast-ai auth login --client-id anything).

    A script makes the model call tools that agents offer, then answer with their output:

    \b
        {"rules": [{"tool": "^Bash$", "prompt": "make the file",
                    "arguments": {"command": "touch made.txt && ls"},
                    "answer": "Done. It printed: {output}"}]}
    """
    from raycast_ai.emulator.config import EmulatorConfig
    from raycast_ai.emulator.script import Script, ScriptError
    from raycast_ai.emulator.server import RemoteHostError, run
    from raycast_ai.protocol.errors import InvalidRequestError

    try:
        scripted = Script.load(script) if script else None
    except ScriptError as exc:
        raise click.BadParameter(str(exc), param_hint="--script") from None
    config = EmulatorConfig(
        chunks=chunks,
        chunk_delay=chunk_delay,
        require_signature=not no_signature,
        script=scripted,
        access_token_ttl=token_ttl,
        refresh_rotation=refresh,
        oauth_client_id=client_id,
        credits=credits_profile,
    )
    try:
        run(host, port, config, allow_remote=allow_remote, announce=click.echo)
    except RemoteHostError as exc:
        raise InvalidRequestError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
