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
    splitter = BlockSplitter()
    for block in [*splitter.feed(text), splitter.flush()]:
        with console.capture() as capture:
            from rich.markdown import Markdown

            console.print(Markdown(block), width=width - 1)
        rendered = capture.get().rstrip("\n").split("\n")
        if lines and rendered[0]:
            lines.append("")
        lines += [line.rstrip() for line in rendered]
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
    assert splitter.feed("\n") == []  # what comes next may continue it
    assert splitter.feed("```\ncode\n\nmore\n") == ["paragraph\n\n"]  # a blank line in a fence
    assert splitter.feed("```\n") == ["```\ncode\n\nmore\n```\n"]
    assert splitter.feed("\n\n  \n") == []  # blank lines alone make no block
    assert splitter.feed("~~~~\nx\n~~~\n") == []  # a shorter fence does not close
    assert splitter.feed("~~~~\n") == ["~~~~\nx\n~~~\n~~~~\n"]
    assert splitter.feed("tail") == []
    assert splitter.flush() == "tail"


def whole(text: str, *, width: int = 60) -> list[str]:
    """The document rendered in one piece, as if it had not streamed."""
    from rich.markdown import Markdown

    console = Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None)
    with console.capture() as capture:
        console.print(Markdown(text), width=width - 1)
    return [line.rstrip() for line in capture.get().rstrip("\n").split("\n")]


# Markdown that broke streamed rendering: loose and nested lists, fences inside list items,
# fences inside fences, runs of blank lines, tables, quotes, headings between paragraphs.
TRICKY = {
    "loose list": "Steps:\n\n1. First\n\n2. Second\n\n   - nested a\n\n   - nested b\n\n3. Third\n",
    "fence in a list item": (
        "1. Install:\n\n    ```bash\n    pip install x\n\n    x --help\n    ```\n\n2. Done\n"
    ),
    "fence in a fence": "````markdown\n```python\nprint(1)\n```\n````\n\nAfter.\n",
    "blank lines": "Para one.\n\n\n\nPara two.\n\n\n",
    "table": "| lang | typed |\n|---|---|\n| Python | gradually |\n| Rust | yes |\n\nEnd.\n",
    "quote": "> quoted line\n> more\n\nAfter the quote.\n",
    "headings": "# One\nText.\n## Two\n\n- a\n- b\n\n### Three\n",
    "list then paragraph": "- a\n- b\n\nNot in the list.\n\n1. x\n\n   continued item\n",
    "code languages": "```python\ndef f():\n\n    return 1\n```\n\n```js\nconst x = 1;\n```\n",
}


@pytest.mark.parametrize("piece", [1, 3, 16, 10_000])
@pytest.mark.parametrize("name", TRICKY)
def test_tricky_markdown_streams_as_it_renders_in_one_piece(name: str, piece: int) -> None:
    text = TRICKY[name]
    shown = stream(text, piece=piece, height=200)
    assert shown == whole(text)  # no literal fences, no extra blank lines, nesting kept
