"""Where an answer goes while it streams: raw text, live markdown, or the first code block.

Not a terminal: the text exactly as the model sent it, written as it arrives, plus one final
newline when the answer does not end with one (so shells and `$(...)` behave). Reasoning is
shown dimmed before the answer on a terminal; when stdout is piped it goes to stderr, and only
if asked for with --show-reasoning, so pipes carry the answer alone.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING

from raycast_ai.protocol.events import Notice, ReasoningDelta, TextDelta

from . import runtime
from .markdown import closes, opening_fence
from .waiting import Spinner, hide_control_echo

if TYPE_CHECKING:
    from rich.console import Console

    from raycast_ai.protocol.events import Citation, Event, ImageLink

    from .markdown import LiveMarkdown

SHOWN_NOTICES = ("model_updated", "tool_used")  # the notices said on a terminal
DIM = "\x1b[2m"
RESET = "\x1b[0m"


class Output:
    """The base: the wait, reasoning and notices; subclasses show the answer text.

    `spinner`, on a terminal, turns from `spin()` (a wait grown long) until the first thing to
    show; a spinner never started costs nothing and writes nothing.
    """

    spinner: Spinner | None = None

    def __init__(
        self, reasoning: IO[str] | None = None, *, dim: bool = False, gap: str = "\n"
    ) -> None:
        self._reasoning = reasoning
        self._dim = dim
        self._gap = gap  # what ends the reasoning: a blank line when the answer follows it
        self._thinking = False
        self._restore_echo: Callable[[], None] = lambda: None

    def wait(self) -> None:
        """The answer is being asked for: a Ctrl-C is not echoed into it, until `close`."""
        self._restore_echo = hide_control_echo()

    def spin(self) -> None:
        """The wait has grown long enough to show: the spinner turns (on a terminal)."""
        if self.spinner is not None:
            self.spinner.start()

    def announce(self, message: str) -> None:
        """A line about the wait (a retry), above the spinner if one turns; from any thread."""
        if self.spinner is not None:
            self.spinner.say(message)
        else:
            runtime.err(message, dim=True)

    def reasoning(self, text: str) -> None:
        stream = self._reasoning
        if stream is None or not text:
            return
        self._settle()
        self._thinking = True
        stream.write(f"{DIM}{text}{RESET}" if self._dim else text)
        stream.flush()

    def text(self, text: str) -> None:
        self._settle()
        self._end_reasoning()
        self.answer(text)

    def notice(self, kind: str, message: str) -> None:
        if kind == "model_updated" and message:
            self._settle()
            runtime.err(f"note: {message}", dim=True)
        elif kind == "tool_used" and message and sys.stderr.isatty():
            runtime.err(f"({message})", dim=True)

    def remote(self, citations: Sequence[Citation], images: Sequence[ImageLink]) -> None:
        """What Raycast's remote tools gave, after the answer: image URLs, then sources."""
        if extra := remote_lines(citations, images):
            self.text(extra)

    def close(self) -> None:
        self._restore_echo()
        self._settle()
        self._end_reasoning()
        self.finish()

    def _settle(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None

    def answer(self, text: str) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def _end_reasoning(self) -> None:
        if self._thinking and self._reasoning is not None:
            self._thinking = False
            self._reasoning.write(self._gap)
            self._reasoning.flush()


class Quiet(Output):
    """Shows nothing while streaming (--json, --no-stream)."""

    def answer(self, text: str) -> None:
        pass


class Raw(Output):
    """The text as sent, UTF-8, flushed piece by piece."""

    def __init__(
        self,
        out: IO[bytes],
        reasoning: IO[str] | None = None,
        *,
        dim: bool = False,
        gap: str = "\n",
    ) -> None:
        super().__init__(reasoning, dim=dim, gap=gap)
        self._out = out
        self._last = ""

    def answer(self, text: str) -> None:
        if text:
            self._out.write(text.encode())
            self._out.flush()
            self._last = text[-1]

    def finish(self) -> None:
        if self._last and self._last != "\n":
            self._out.write(b"\n")
            self._out.flush()
            self._last = "\n"


class Markdown(Output):
    """Markdown rendered as it streams, on a terminal."""

    def __init__(self, console: Console, *, dim: bool = True, show_reasoning: bool = True) -> None:
        super().__init__(console.file if show_reasoning else None, dim=dim, gap="\n\n")
        from .markdown import LiveMarkdown

        self._view: LiveMarkdown = LiveMarkdown(console)

    def answer(self, text: str) -> None:
        self._view.feed(text)

    def finish(self) -> None:
        self._view.close()


class Extract(Output):
    """Only the first fenced code block, line by line; without one, the whole answer at the end."""

    def __init__(self, out: IO[bytes], reasoning: IO[str] | None = None, gap: str = "\n") -> None:
        super().__init__(reasoning, gap=gap)
        self._out = out
        self._extractor = FenceExtractor()

    def answer(self, text: str) -> None:
        self._write(self._extractor.feed(text))

    def finish(self) -> None:
        rest = self._extractor.close()
        if rest is None:
            rest = self._extractor.text
            if rest and not rest.endswith("\n"):
                rest += "\n"
        self._write(rest)

    def _write(self, text: str) -> None:
        if text:
            self._out.write(text.encode())
            self._out.flush()


class FenceExtractor:
    """The content of the first fenced code block of streaming markdown."""

    __slots__ = ("_buffer", "_fence", "_indent", "_parts", "state")

    def __init__(self) -> None:
        self.state = "before"  # then "inside", then "after"
        self._buffer = ""
        self._fence = ""
        self._indent = 0
        self._parts: list[str] = []

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return "".join(self._parts)

    def feed(self, text: str) -> str:
        """Adds text; returns the code lines it completed."""
        self._parts.append(text)
        if self.state == "after":
            return ""
        self._buffer += text
        out: list[str] = []
        while self.state != "after" and (newline := self._buffer.find("\n")) != -1:
            line, self._buffer = self._buffer[: newline + 1], self._buffer[newline + 1 :]
            self._line(line, out)
        return "".join(out)

    def close(self) -> str | None:
        """The rest of an unclosed block, "" after a closed one, None when there was none."""
        if self.state == "before":
            return None
        rest, self._buffer = self._buffer, ""
        if self.state == "inside" and rest and not closes(rest, self._fence, nested=True):
            self.state = "after"
            return self._dedent(rest) + "\n"
        self.state = "after"
        return ""

    def _line(self, line: str, out: list[str]) -> None:
        if self.state == "before":
            opened = opening_fence(line, nested=True)  # the first block, in a list item too
            if opened is not None:
                self._fence, self._indent = opened
                self.state = "inside"
        elif closes(line, self._fence, nested=True):
            self.state = "after"
        else:
            out.append(self._dedent(line))

    def _dedent(self, line: str) -> str:
        # CommonMark: an indented fence takes up to as many spaces off each of its lines.
        strip = min(self._indent, len(line) - len(line.lstrip(" ")))
        return line[strip:]


def remote_lines(citations: Sequence[Citation], images: Sequence[ImageLink]) -> str:
    """Images and sources as lines to follow an answer (title and URL, readable raw and as
    Markdown); "" when there are none."""
    lines = ["Images:", *(f"- {i.url}" for i in images)] if images else []
    if citations:
        lines += ["", "Sources:"] if lines else ["Sources:"]
        lines += [
            f"{c.number or n}. {c.title or c.url} — {c.url}" for n, c in enumerate(citations, 1)
        ]
    return "\n\n" + "\n".join(lines) + "\n" if lines else ""


def shows(event: Event) -> bool:
    """Whether an output may show something for `event` (what ends the wait for an answer)."""
    if isinstance(event, Notice):
        return event.kind in SHOWN_NOTICES and bool(event.message)
    return isinstance(event, TextDelta | ReasoningDelta)


def make_output(
    *,
    markdown: bool,
    extract: bool,
    quiet: bool,
    reasoning: bool | None,
) -> Output:
    """The output for `ask` and `chat`; `reasoning` None means: on a terminal only."""
    tty = runtime.stdout_is_tty()
    stdout = sys.stdout.buffer
    if quiet:
        return Quiet()
    color = tty and not runtime.no_color()
    if tty:
        thinking: IO[str] | None = None if reasoning is False else sys.stdout
    else:
        thinking = sys.stderr if reasoning else None
    gap = "\n\n" if tty else "\n"
    output: Output
    if extract:
        output = Extract(stdout, thinking, gap)
    elif markdown and tty:
        output = Markdown(console(), dim=color, show_reasoning=reasoning is not False)
    else:
        output = Raw(stdout, thinking, dim=color and tty, gap=gap)
    if runtime.stderr_is_tty():
        output.spinner = Spinner(sys.stderr)
    return output


def console() -> Console:
    """One for stdout, kept (a chat makes an output for each answer)."""
    return _console(sys.stdout)


@functools.lru_cache(maxsize=1)
def _console(stdout: IO[str]) -> Console:
    from rich.console import Console

    return Console(file=stdout, highlight=False)
