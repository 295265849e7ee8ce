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
def emulate(
    host: str,
    port: int,
    allow_remote: bool,
    chunks: int,
    chunk_delay: float,
    no_signature: bool,
    script: str | None,
) -> None:
    """Run the local Raycast backend emulator.

    It answers with deterministic text; words in a prompt shape the answer: @fault:NAME
    (401, 403, 429, 500, 503, reset-mid, stall, truncate, malformed, context_error,
    credits_error, ...), @chunks:N, @delay:SECONDS.

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
    )
    try:
        run(host, port, config, allow_remote=allow_remote, announce=click.echo)
    except RemoteHostError as exc:
        raise InvalidRequestError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
