"""`raycast-ai demo`: one question through the whole stack, against an emulator in this process.

The real client signs the request with the emulator's token and secret, in a temporary data
folder, so the user's credentials, settings and log are not touched.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import click

from . import runtime

DEFAULT_PROMPT = "What can raycast-ai do for me?"


@click.command()
@click.option("-p", "--prompt", default=DEFAULT_PROMPT, show_default=True, help="The question.")
@click.option("-m", "--model", help="A model of the emulator's catalog (see the output).")
@click.option(
    "--delay",
    type=click.FloatRange(0, 1),
    default=0.04,
    show_default=True,
    metavar="SECONDS",
    help="The emulator's pause between pieces, to watch it stream.",
)
@click.option("--no-md", is_flag=True, help="Print raw text even on a terminal.")
def demo(prompt: str, model: str | None, delay: float, no_md: bool) -> None:
    """Answer one question through a local emulator, no account needed.

    Starts the Raycast backend emulator on a free loopback port, then asks it through the real
    client: catalog lookup, a signed request (X-Raycast-Signature-v2), the answer streamed piece
    by piece, usage.
    """
    from raycast_ai.client import RaycastClient
    from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
    from raycast_ai.emulator.config import EmulatorConfig
    from raycast_ai.emulator.server import EmulatorServer
    from raycast_ai.protocol.request import CHAT_PATH

    from .exchange import Session
    from .output import make_output

    color = runtime.stdout_is_tty() and not runtime.no_color()

    def say(text: str = "", **style: Any) -> None:
        click.echo(click.style(text, **style) if color and style else text)

    def row(label: str, value: str) -> None:
        say(f"  {click.style(label.ljust(9), dim=True) if color else label.ljust(9)}  {value}")

    say("raycast-ai demo", bold=True)
    say("One question through the whole stack, answered by a local Raycast backend emulator.")
    say()
    config = EmulatorConfig(chunks=30, chunk_delay=delay)
    with (
        tempfile.TemporaryDirectory(prefix="raycast-ai-demo-") as home,
        EmulatorServer(config) as server,
        RaycastClient(
            token=EMULATOR_TOKEN,
            signing_secret=EMULATOR_SECRET,
            base_url=server.base_url,
            home=home,
            max_retries=0,
        ) as client,
    ):
        row("emulator", f"{server.base_url}  (in this process, loopback only)")
        row("home", "a temporary folder: your credentials and log are not touched")
        entry = client.models().resolve(model)
        row("model", f"{entry.name} ({entry.id}) from GET /api/v1/ai/models")
        row("request", f"POST {CHAT_PATH}, signed with X-Raycast-Signature-v2")
        say()
        say(f"> {prompt}", bold=True)
        say()
        session = Session(client, model=entry.id)
        output = make_output(markdown=not no_md, extract=False, quiet=False, reasoning=None)
        started = time.monotonic()
        answer = session.ask(prompt, output)
        elapsed = time.monotonic() - started
        chat = server.recorder.wait_for(
            lambda requests: any(r.path == CHAT_PATH and r.outcome != "pending" for r in requests),
            timeout=2.0,
        )
        record = next(r for r in reversed(chat) if r.path == CHAT_PATH)
    say()
    usage = answer.usage
    tokens = f"{usage.input_tokens} tokens in, {usage.output_tokens} out, " if usage else ""
    row("usage", f"{tokens}finish: {answer.finish_reason}, {elapsed:.2f} s")
    signature = record.headers.get("x-raycast-signature-v2", "")
    row(
        "emulator",
        f"checked the token and the signature {signature[:12]}…: {record.outcome}",
    )
    say()
    say("Next, with your own Raycast account:", bold=True)
    say("  raycast-ai auth login            sign in (or: auth set, auth import)")
    say("  raycast-ai auth set              the signing secret, stored privately")
    say('  raycast-ai "your question"       or: raycast-ai chat')
    say("  raycast-ai serve                 an OpenAI-compatible API on 127.0.0.1:8080")
