"""Markdown streamed to a terminal without rich's Live and its failure on long answers.

Live redraws its whole renderable; once that is taller than the screen, the part above the top
can no longer be erased and every refresh prints it again. Here a finished block (text up to a
blank line, a heading line, a closed code fence) is printed once and never touched again; only
the unfinished last block is redrawn, and of that only the bottom screenful: lines that scroll
further up are left in place as they are ("frozen") and never redrawn.
"""

from __future__ import annotations

import copy
import functools
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from rich.console import Console
    from rich.markdown import Markdown

_FENCE = re.compile(r"^( *)(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_LIST_ITEM = re.compile(r"^ {0,3}([-*+]|\d{1,9}[.)])(\s|$)")
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"


def opening_fence(line: str, *, nested: bool = False) -> tuple[str, int] | None:
    """(fence, indent) when `line` opens a fenced code block: at the top level (indented up to
    three spaces) or, `nested`, in a list item (indented by any amount)."""
    match = _FENCE.match(line.rstrip("\r\n"))
    if match is None or (len(match.group(1)) > 3 and not nested):
        return None
    fence, info = match.group(2), match.group(3)
    if fence[0] == "`" and "`" in info:
        return None
    return fence, len(match.group(1))


def closes(line: str, fence: str, *, nested: bool = False) -> bool:
    match = _FENCE.match(line.rstrip("\r\n"))
    return (
        match is not None
        and (len(match.group(1)) <= 3 or nested)
        and not match.group(3).strip()
        and match.group(2)[0] == fence[0]
        and len(match.group(2)) >= len(fence)
    )


def markdown(text: str, code_theme: str = "monokai") -> Markdown:
    """rich's `Markdown(text)`, parsed by one parser kept for the process: rich builds a new one
    for each, which is a third of the time a short render takes (and of the first token's)."""
    view = copy.copy(_empty(code_theme))
    view.markup = text
    view.parsed = _parser().parse(text)
    return view


def warm() -> None:
    """Imports and renders once what an answer in Markdown needs, so the first answer does not
    wait for it (tens of milliseconds)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    console.print(markdown("# Warm\n\n- *a* **b** `c`\n\n> d\n"))


@functools.cache
def _empty(code_theme: str) -> Markdown:
    from rich.markdown import Markdown

    return Markdown("", code_theme=code_theme)


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")  # as rich's Markdown builds it


class BlockSplitter:
    """Cuts streaming markdown into finished top-level blocks and an unfinished tail.

    A blank line ends a block only once the next line shows that a new one starts: not when
    that line is indented (a list item's paragraphs and code, nested lists) or is the next item
    of the list the block is, so that a loose list stays one list.
    """

    __slots__ = ("_cut", "_fence", "_scan", "tail")

    def __init__(self) -> None:
        self.tail = ""
        self._scan = 0  # where the first line not looked at yet starts in `tail`
        self._fence: str | None = None
        self._cut: int | None = None  # after the blank lines that may end the block

    def feed(self, text: str) -> list[str]:
        """Adds text; returns the blocks it finished (never whitespace only)."""
        self.tail += text
        done: list[str] = []
        while (newline := self.tail.find("\n", self._scan)) != -1:
            start, self._scan = self._scan, newline + 1
            line = self.tail[start:newline]
            if self._cut is not None and line.strip():
                cut, self._cut = self._cut, None
                if not self._continues(line):
                    done.append(self.tail[:cut])
                    self.tail, start, self._scan = self.tail[cut:], start - cut, self._scan - cut
            if self._ends_block(line, start):
                block, self.tail, self._scan = self.tail[: self._scan], self.tail[self._scan :], 0
                if block.strip():
                    done.append(block)
        return done

    def flush(self) -> str:
        tail, self.tail, self._scan, self._fence, self._cut = self.tail, "", 0, None, None
        return tail

    def _continues(self, line: str) -> bool:
        """Whether `line`, after blank lines, still belongs to the block before them."""
        if line[:1] in (" ", "\t"):
            return True
        return bool(_LIST_ITEM.match(line)) and bool(_LIST_ITEM.match(self.tail.lstrip("\n")))

    def _ends_block(self, line: str, start: int) -> bool:
        if self._fence is not None:
            if closes(line, self._fence):
                self._fence = None
                return True
            return False
        if not line.strip():
            if self.tail[:start].strip():
                self._cut = self._scan
            else:  # blank lines before a block are no part of it
                self.tail, self._scan = self.tail[self._scan :], 0
            return False
        opened = opening_fence(line)
        if opened is not None:
            self._fence = opened[0]
            return False
        # A heading is a block of its own as soon as its line is complete.
        return bool(_HEADING.match(line)) and not self.tail[:start].strip()


class LiveMarkdown:
    """Renders streaming markdown on `console`, a terminal; call `feed`, then `close` once."""

    def __init__(
        self,
        console: Console,
        *,
        interval: float = 0.05,
        code_theme: str = "monokai",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.interval = interval
        self.clock = clock
        self.code_theme = code_theme
        self.splitter = BlockSplitter()
        self._frozen = 0  # lines at the top of the tail's rendering that are final on screen
        self._live = 0  # rows on screen that the next draw erases; the cursor is on the last
        self._blocks = 0  # blocks printed so far
        self._next_draw = 0.0
        self._started = False

    def feed(self, text: str) -> None:
        if not self._started:
            self._started = True
            self._write(HIDE_CURSOR)
        for block in self.splitter.feed(text):
            self._commit(block)
        now = self.clock()
        if now >= self._next_draw:
            self._draw()
            # A slow terminal or a huge block must not take the time the stream needs.
            spent = self.clock() - now
            self._next_draw = now + max(self.interval, 3 * spent)

    def close(self) -> None:
        """Prints the rest as final; leaves the cursor at the start of a new line."""
        tail = self.splitter.flush()
        if tail.strip():
            self._commit(tail)
        else:
            self._erase()
        if self._started:
            self._write(SHOW_CURSOR)

    def _lines(self, text: str) -> list[str]:
        # One column spare: a line exactly as wide as the terminal leaves the cursor in the
        # "pending wrap" state, where terminals disagree on what the next newline does.
        width = max(self.console.width - 1, 10)
        with self.console.capture() as capture:
            self.console.print(markdown(text, self.code_theme), width=width)
        lines = capture.get().rstrip("\n").split("\n")
        # Blocks are a blank line apart, as rich spaces them, unless the block brings its own
        # (a list or a table starts with one).
        return ["", *lines] if self._blocks and lines[0] else lines

    def _commit(self, block: str) -> None:
        lines = self._lines(block)
        self._erase()
        self._write("".join(line + "\n" for line in lines[self._frozen :]))
        self._frozen = 0
        self._blocks += 1

    def _draw(self) -> None:
        if not self.splitter.tail.strip():
            return
        lines = self._lines(self.splitter.tail)
        self._erase()
        shown = lines[self._frozen :]
        self._write("\n".join(shown))
        keep = min(len(shown), max(self.console.height - 2, 1))
        self._frozen += len(shown) - keep
        self._live = keep

    def _erase(self) -> None:
        if self._live:
            up = f"\x1b[{self._live - 1}A" if self._live > 1 else ""
            self._write(f"\r{up}\x1b[J")
            self._live = 0

    def _write(self, text: str) -> None:
        if text:
            self.console.file.write(text)
            self.console.file.flush()
