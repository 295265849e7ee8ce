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
def emulate(
    host: str, port: int, allow_remote: bool, chunks: int, chunk_delay: float, no_signature: bool
) -> None:
    """Run the local Raycast backend emulator.

    It answers with deterministic text; words in a prompt shape the answer: @fault:NAME
    (401, 403, 429, 500, 503, reset-mid, stall, truncate, malformed, context_error,
    credits_error, ...), @chunks:N, @delay:SECONDS.
    """
    from raycast_ai.emulator.config import EmulatorConfig
    from raycast_ai.emulator.server import RemoteHostError, run
    from raycast_ai.protocol.errors import InvalidRequestError

    config = EmulatorConfig(
        chunks=chunks, chunk_delay=chunk_delay, require_signature=not no_signature
    )
    try:
        run(host, port, config, allow_remote=allow_remote, announce=click.echo)
    except RemoteHostError as exc:
        raise InvalidRequestError(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
