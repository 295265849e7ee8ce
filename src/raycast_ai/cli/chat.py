"""`raycast-ai chat`: a conversation in the terminal.

Input: Enter sends. A line ending in a backslash continues on the next line (the backslash is
dropped); text that starts with three double quotes continues until a line that ends with them
(the quotes are dropped); Alt+Enter (Esc, Enter) always adds a line. Ctrl-C stops an answer
(or clears the line being typed), Ctrl-D on an empty line leaves. Without a terminal, lines are
read from stdin with the same rules and no line editing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from raycast_ai.history import create_private

from . import runtime
from .completion import complete_model

if TYPE_CHECKING:
    from .exchange import Session

HISTORY_FILE = "chat_history"
QUOTES = '"""'
PROMPT = "> "
HELP = """\
/model [ID]     show or change the model (an id, model name or alias)
/system [TEXT]  set the system prompt; without TEXT, remove it
/new            start a new conversation
/exit           leave (or Ctrl-D); Ctrl-C stops an answer
End a line with \\ to continue it, or wrap several lines in \"\"\" ... \"\"\"."""


@click.command()
@click.option(
    "-m", "--model", shell_complete=complete_model, help="Catalog id, model name or alias."
)
@click.option("-s", "--system", help="A system prompt.")
@click.option(
    "-c", "--continue", "resume", is_flag=True, help="Continue the latest logged conversation."
)
@click.option("--cid", metavar="ID", help="Continue the logged conversation with this id (prefix).")
@click.option("--temperature", type=click.FloatRange(0, 2), help="Sampling temperature, 0 to 2.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="Longest silence to wait for, before and during an answer (default 60).",
)
@click.option(
    "--reasoning/--no-reasoning",
    default=None,
    help="Show the model's thinking (default: dimmed on a terminal).",
)
@click.option("--no-log", is_flag=True, help="Do not write this conversation to the log.")
@click.option("--no-md", is_flag=True, help="Print raw text even on a terminal.")
def chat(
    model: str | None,
    system: str | None,
    resume: bool,
    cid: str | None,
    temperature: float | None,
    timeout: float | None,
    reasoning: bool | None,
    no_log: bool,
    no_md: bool,
) -> None:
    """Chat with a model in the terminal.

    \b
    /model [ID]     show or change the model
    /system [TEXT]  set or remove the system prompt
    /new            start a new conversation
    /exit           leave (or Ctrl-D); Ctrl-C stops an answer

    End a line with \\ to continue it on the next, or wrap several lines in triple quotes.
    """
    from raycast_ai.protocol.errors import RaycastError

    from . import errors
    from .exchange import open_session
    from .output import make_output

    interactive = runtime.stdin_is_tty() and runtime.stdout_is_tty()
    with (
        runtime.make_client(timeout=timeout) as client,
        open_session(
            client,
            resume=resume,
            cid=cid,
            model=model,
            system=system,
            log=runtime.prefs().log and not no_log,
        ) as session,
    ):
        entry = client.models().resolve(session.model, runtime.prefs().aliases)
        session.model = entry.id
        if interactive:
            earlier = len(session.messages) // 2
            where = f"continuing {session.id[:8]} ({earlier} earlier)" if earlier else "new chat"
            runtime.err(
                f"{entry.name} ({entry.id}), {where}. /help for commands, Ctrl-D to leave.",
                dim=True,
            )
        lines = prompts(runtime.home() / HISTORY_FILE) if interactive else piped_lines()
        for text in lines:
            if text.startswith("/"):
                if not command(session, text):
                    break
                continue
            output = make_output(
                markdown=not no_md, extract=False, quiet=False, reasoning=reasoning
            )
            try:
                session.ask(text, output, temperature=temperature)
            except KeyboardInterrupt:
                runtime.err("(stopped)", dim=True)
            except RaycastError as exc:
                runtime.err(f"Error: {errors.message(exc)}")
            if interactive:
                click.echo()


def command(session: Session, line: str) -> bool:
    """Runs a slash command; False means leave."""
    from raycast_ai.protocol.errors import ModelNotFoundError

    name, _, argument = line.partition(" ")
    argument = argument.strip()
    if name in ("/exit", "/quit"):
        return False
    if name == "/help":
        click.echo(HELP)
    elif name == "/new":
        session.new()
        runtime.err("New conversation.", dim=True)
    elif name == "/system":
        session.system = argument or None
        runtime.err("System prompt set." if argument else "System prompt removed.", dim=True)
    elif name == "/model":
        if argument:
            try:
                entry = session.client.models().resolve(argument, runtime.prefs().aliases)
            except ModelNotFoundError as exc:
                runtime.err(f"Error: {exc}")
                return True
            session.model = entry.id
            runtime.err(f"Model: {entry.name} ({entry.id})", dim=True)
        else:
            click.echo(session.model)
    else:
        runtime.err(f"Unknown command {name}; /help lists them.")
    return True


def needs_more(text: str) -> bool:
    """Whether the input typed so far continues on another line."""
    stripped = text.lstrip()
    if stripped.startswith(QUOTES):
        return not stripped[len(QUOTES) :].rstrip().endswith(QUOTES)
    return text.endswith("\\")


def complete(text: str) -> str:
    """The message a finished input stands for: quotes and line-continuing backslashes off."""
    stripped = text.strip()
    if stripped.startswith(QUOTES):
        body = stripped[len(QUOTES) :]
        return body.removesuffix(QUOTES).strip("\n")
    return text.replace("\\\n", "\n").strip()


def prompts(history: Path) -> Iterator[str]:
    """Inputs typed at a prompt_toolkit prompt; ends at Ctrl-D."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, History, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if needs_more(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    try:
        create_private(history)
        kept: History = FileHistory(str(history))
    except OSError:
        kept = InMemoryHistory()
    session: PromptSession[str] = PromptSession(
        history=kept,
        multiline=True,
        key_bindings=bindings,
        prompt_continuation=_continuation,
    )
    while True:
        try:
            text = session.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        text = complete(text)
        if text:
            yield text


def piped_lines(stream: TextIO | None = None) -> Iterator[str]:
    """Inputs read line by line, with the same continuation rules."""
    stream = stream or sys.stdin
    pending: list[str] = []
    for raw in stream:
        pending.append(raw.rstrip("\n"))
        text = "\n".join(pending)
        if needs_more(text):
            continue
        pending = []
        text = complete(text)
        if text:
            yield text
    if pending and (text := complete("\n".join(pending))):
        yield text


def _continuation(width: int, line_number: int, wrap_count: int) -> str:
    return ". ".rjust(width)
