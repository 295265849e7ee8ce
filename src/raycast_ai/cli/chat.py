"""`raycast-ai chat`: a conversation in the terminal.

Input: Enter sends. A line ending in a backslash continues on the next line (the backslash is
dropped); text that starts with three double quotes continues until a line that ends with them
(the quotes are dropped); Alt+Enter (Esc, Enter) always adds a line. Ctrl-C stops an answer
(or clears the line being typed), Ctrl-D on an empty line leaves. Without a terminal, lines are
read from stdin with the same rules and no line editing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from raycast_ai.history import create_private

from . import runtime, saved
from .completion import complete_model

if TYPE_CHECKING:
    from .exchange import Sent, Session

HISTORY_FILE = "chat_history"
QUOTES = '"""'
PROMPT = "> "
HELP = """\
/model [ID]     show or change the model (an id, model name or alias)
/system [TEXT]  set the system prompt; without TEXT, remove it
/retry          ask the last question again, in place of its answer
/copy           copy the last answer to the clipboard
/save FILE      save the conversation as Markdown
/attach [FILE]  send FILE with your next message; without FILE, list what will go
/detach         send none of the files attached so far
/new            start a new conversation
/clear          clear the screen (the conversation goes on)
/search on|off  let Raycast search the web, or not (without on/off: show which)
/exit           leave (or Ctrl-D); Ctrl-C stops an answer
End a line with \\ to continue it, or wrap several lines in \"\"\" ... \"\"\"."""


@click.command()
@click.option(
    "-m", "--model", shell_complete=complete_model, help="Catalog id, model name or alias."
)
@click.option("-s", "--system", help="A system prompt.")
@click.option("--role", metavar="NAME", help="A saved system prompt ('raycast-ai roles').")
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
    "-r",
    "--reasoning",
    "effort",
    metavar="EFFORT",
    help="Reasoning effort, for models that reason: low, medium or high.",
)
@click.option(
    "--show-reasoning/--hide-reasoning",
    "reasoning",
    default=None,
    help="Show the model's thinking (default: dimmed on a terminal).",
)
@click.option(
    "--search/--no-search",
    default=None,
    help="Let Raycast search the web (default: config.json's remote_tools); /search toggles it.",
)
@click.option(
    "--remote-tool",
    "remote_tool",
    multiple=True,
    metavar="NAME",
    help="Offer another Raycast remote tool, e.g. gpt_image or read_page (repeatable).",
)
@click.option("--no-log", is_flag=True, help="Do not write this conversation to the log.")
@click.option("--no-md", is_flag=True, help="Print raw text even on a terminal.")
def chat(
    model: str | None,
    system: str | None,
    role: str | None,
    resume: bool,
    cid: str | None,
    temperature: float | None,
    timeout: float | None,
    effort: str | None,
    reasoning: bool | None,
    search: bool | None,
    remote_tool: tuple[str, ...],
    no_log: bool,
    no_md: bool,
) -> None:
    """Chat with a model in the terminal.

    \b
    /model [ID]     show or change the model
    /system [TEXT]  set or remove the system prompt
    /attach FILE    send FILE (an image, a PDF, code) with the next message
    /search on|off  let Raycast search the web, or not
    /retry, /copy, /save FILE, /new, /clear
    /exit           leave (or Ctrl-D); Ctrl-C stops an answer

    End a line with \\ to continue it on the next, or wrap several lines in triple quotes.
    """
    from raycast_ai.protocol.errors import RaycastError

    from . import errors
    from .exchange import open_session
    from .inflight import keep_spare
    from .output import make_output

    system = saved.system_prompt(role, system)
    interactive = runtime.stdin_is_tty() and runtime.stdout_is_tty()
    remote = runtime.remote_tools(search, remote_tool)
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
        session.remote_tools = remote
        if interactive:
            earlier = len(session.messages) // 2
            where = f"continuing {session.id[:8]} ({earlier} earlier)" if earlier else "new chat"
            runtime.err(
                f"{entry.name} ({entry.id}), {where}. /help for commands, Ctrl-D to leave.",
                dim=True,
            )
            if not no_md:
                threading.Thread(target=_warm, name="warm", daemon=True).start()
            keep_spare()
        early: list[Sent] = []  # a question sent the moment Enter took it, not yet answered

        def send(text: str) -> Sent:
            return session.send(
                text, temperature=temperature, reasoning_effort=effort, attachments=session.pending
            )

        def accepted(text: str) -> None:
            if not text.startswith("/"):
                early.append(send(text))

        lines = (
            prompts(
                runtime.home() / HISTORY_FILE,
                lambda: f"{session.model} {session.id[:8]}",
                accepted,
            )
            if interactive
            else piped_lines()
        )
        for line in lines:
            sent = early.pop() if early and early[-1].prompt == line else None
            for stale in early:  # taken by Enter, but not given back by the prompt
                stale.flight.close()
            early.clear()
            if line.startswith("/"):
                if line.split(" ", 1)[0] != "/retry":
                    if not command(session, line):
                        break
                    continue
                retried = session.retry()
                if retried is None:
                    runtime.err("Nothing to retry yet.")
                    continue
                text, session.pending = retried
                sent = send(text)
            output = make_output(
                markdown=not no_md, extract=False, quiet=False, reasoning=reasoning
            )
            try:
                session.ask(sent or send(line), output)
                session.pending = []
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
        session.pending = []
        runtime.err("New conversation.", dim=True)
    elif name == "/clear":
        click.clear()
    elif name == "/copy":
        copy_answer(session)
    elif name == "/save":
        save(session, argument)
    elif name == "/attach":
        attach(session, argument)
    elif name == "/detach":
        dropped = len(session.pending)
        session.pending = []
        runtime.err(f"Detached {dropped} file{'' if dropped == 1 else 's'}.", dim=True)
    elif name == "/search":
        from raycast_ai.protocol.remote import WEB_SEARCH

        others = tuple(t for t in session.remote_tools if t != WEB_SEARCH)
        if argument in ("on", "off"):
            session.remote_tools = (*others, WEB_SEARCH) if argument == "on" else others
        elif argument:
            runtime.err("Use /search on or /search off.")
            return True
        on = WEB_SEARCH in session.remote_tools
        runtime.err(f"Web search is {'on' if on else 'off'}.", dim=True)
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


def copy_answer(session: Session) -> None:
    from .clipboard import ClipboardError, copy

    answer = session.last_answer()
    if answer is None:
        runtime.err("There is no answer to copy yet.")
        return
    try:
        copy(answer)
    except ClipboardError as exc:
        runtime.err(f"Error: {exc}")
        return
    runtime.err("Copied the last answer.", dim=True)


def save(session: Session, name: str) -> None:
    if not name:
        runtime.err("Usage: /save FILE")
        return
    path = Path(name).expanduser()
    try:
        path.write_text(session.markdown(), encoding="utf-8")
    except OSError as exc:
        runtime.err(f"Error: cannot write {path}: {exc.strerror or exc}.")
        return
    runtime.err(f"Saved the conversation to {path}.", dim=True)


def attach(session: Session, path: str) -> None:
    """`/attach FILE`: read now (a missing file is said at once), sent with the next message."""
    from .attach import FileError, load, shown

    if not path:
        for attachment in session.pending:
            click.echo(shown(attachment))
        if not session.pending:
            runtime.err("Nothing attached; /attach FILE attaches one.", dim=True)
        return
    try:
        attachment = load(path)
    except FileError as exc:
        runtime.err(f"Error: {exc.message}")
        return
    session.pending.append(attachment)
    runtime.err(f"Attached {shown(attachment)}: it goes with your next message.", dim=True)


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


def prompts(
    history: Path,
    where: Callable[[], str] = lambda: "",
    accepted: Callable[[str], None] = lambda text: None,
) -> Iterator[str]:
    """Inputs typed at a prompt_toolkit prompt, which shows `where()` (the model and the
    conversation); ends at Ctrl-D. Each is given to `accepted` as soon as Enter takes it, before
    the prompt is taken down and the line stored in the history (milliseconds later), so that
    its question can be on its way meanwhile."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, History, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if needs_more(buffer.text):
            buffer.insert_text("\n")
            return
        if text := complete(buffer.text):  # the prompt has no validator: Enter always takes it
            accepted(text)
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
            text = session.prompt(lambda: f"{where()}{PROMPT}" if where() else PROMPT)
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


def _warm() -> None:
    """While the first question is typed: what rendering its answer would otherwise wait for."""
    from .markdown import warm

    with contextlib.suppress(Exception):  # the answer pays for it then, nothing worse
        warm()


def _continuation(width: int, line_number: int, wrap_count: int) -> str:
    return ". ".rjust(width)
