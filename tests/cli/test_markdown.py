"""Streaming markdown: block splitting, and what a terminal shows once a long answer is done."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from raycast_ai.cli.markdown import BlockSplitter, LiveMarkdown

_CONTROL = re.compile(r"\x1b\[(\??)(\d*)([A-Za-z])")


class Terminal:
    """Just enough of a VT100 to replay what LiveMarkdown writes: text, CR, LF, cursor up
    (never above the top of the screen) and erase-below; colours are dropped."""

    def __init__(self, height: int) -> None:
        self.height = height
        self.lines: list[str] = [""]
        self.row = 0
        self.col = 0

    def feed(self, data: str) -> None:
        pos = 0
        while pos < len(data):
            match = _CONTROL.match(data, pos)
            if match:
                _private, number, op = match.groups()
                if op == "A":
                    top = max(len(self.lines) - self.height, 0)
                    self.row = max(self.row - int(number or 1), top)
                elif op == "J":
                    self.lines[self.row] = self.lines[self.row][: self.col]
                    del self.lines[self.row + 1 :]
                pos = match.end()
                continue
            char = data[pos]
            pos += 1
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.row += 1
                self.col = 0
                if self.row == len(self.lines):
                    self.lines.append("")
            else:
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[: self.col] + char + line[self.col + 1 :]
                self.col += 1

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.lines]


def stream(text: str, *, width: int = 60, height: int = 12, piece: int = 5) -> list[str]:
    """What the terminal holds after `text` streamed `piece` characters at a time."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, height=height, color_system=None)
    view = LiveMarkdown(console, interval=0, clock=lambda: 0.0)  # time stands still: draw always
    for i in range(0, len(text), piece):
        view.feed(text[i : i + piece])
    view.close()
    terminal = Terminal(height)
    terminal.feed(out.getvalue())
    assert terminal.row == len(terminal.lines) - 1
    assert terminal.col == 0
    return terminal.text()[:-1]


def at_once(text: str, *, width: int = 60) -> list[str]:
    """The same blocks rendered without streaming."""
    console = Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None)
    lines: list[str] = []
    for block in BlockSplitter().feed(text + "\n\n"):
        with console.capture() as capture:
            from rich.markdown import Markdown

            console.print(Markdown(block), width=width - 1)
        if lines:
            lines.append("")
        lines += [line.rstrip() for line in capture.get().rstrip("\n").split("\n")]
    return lines


LONG_CODE = "Some code:\n\n```python\n" + "".join(f"x{i} = {i}\n" for i in range(40)) + "```\n"
ANSWER = (
    "# Title\n\nA paragraph that is long enough to wrap over a couple of lines of the "
    "terminal, with **bold** and `code`.\n\n- one\n- two\n\n" + LONG_CODE + "\nThe end."
)


@pytest.mark.parametrize("piece", [2, 7, 50, 10_000])
def test_a_long_answer_ends_on_screen_exactly_once(piece: int) -> None:
    shown = stream(ANSWER, piece=piece)
    assert shown == at_once(ANSWER)
    assert sum("x39 = 39" in line for line in shown) == 1
    assert sum("Title" in line for line in shown) == 1


def test_a_code_block_taller_than_the_screen_streams_without_repeats() -> None:
    shown = stream(LONG_CODE, height=6, piece=3)
    code = [line.strip() for line in shown if line.strip().startswith("x")]
    assert code == [f"x{i} = {i}" for i in range(40)]


def test_the_splitter_finishes_blocks_at_blank_lines_headings_and_fences() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("# Head") == []
    assert splitter.feed("ing\npara") == ["# Heading\n"]
    assert splitter.feed("graph\n") == []
    assert splitter.feed("\n") == ["paragraph\n\n"]
    assert splitter.feed("```\ncode\n\nmore\n") == []  # a blank line inside a fence
    assert splitter.feed("```\n") == ["```\ncode\n\nmore\n```\n"]
    assert splitter.feed("\n\n  \n") == []  # blank lines alone make no block
    assert splitter.feed("~~~~\nx\n~~~\n") == []  # a shorter fence does not close
    assert splitter.feed("~~~~\n") == ["~~~~\nx\n~~~\n~~~~\n"]
    assert splitter.feed("tail") == []
    assert splitter.flush() == "tail"
