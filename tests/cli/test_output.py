"""Answer outputs: raw text, the first code block, and where reasoning goes."""

from __future__ import annotations

import io

import pytest

from raycast_ai.cli.output import Extract, FenceExtractor, Raw


def extract(text: str, piece: int) -> tuple[str, str | None]:
    extractor = FenceExtractor()
    out = "".join(extractor.feed(text[i : i + piece]) for i in range(0, len(text), piece))
    rest = extractor.close()
    return out + (rest or ""), rest


@pytest.mark.parametrize("piece", [1, 4, 1000])
@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "intro\n```python\nprint(1)\n\nprint(2)\n```\nafter\n```\nno\n```",
            "print(1)\n\nprint(2)\n",
        ),
        ("~~~\nuses tildes\n```\nstill code\n~~~~\n", "uses tildes\n```\nstill code\n"),
        ("````md\n```\ninner\n```\n````\n", "```\ninner\n```\n"),
        ("  ```\n  indented\n    more\n  ```\n", "indented\n  more\n"),
        ("```\nunclosed\nlast line", "unclosed\nlast line\n"),
        ("``` inline ``` is not a fence\n```\nreal\n```", "real\n"),
    ],
)
def test_the_first_fenced_block(text: str, code: str, piece: int) -> None:
    assert extract(text, piece)[0] == code


def test_no_block_means_the_whole_answer() -> None:
    out = io.BytesIO()
    output = Extract(out)
    output.text("just ")
    output.text("words")
    output.close()
    assert out.getvalue() == b"just words\n"
    assert extract("no fences", 3) == ("", None)


def test_raw_writes_utf8_as_it_comes_and_ends_with_one_newline() -> None:
    out = io.BytesIO()
    output = Raw(out)
    output.text("Voilà ")
    assert out.getvalue() == "Voilà ".encode()
    output.text("🚀")
    output.close()
    assert out.getvalue() == "Voilà 🚀\n".encode()
    ended = io.BytesIO()
    output = Raw(ended)
    output.text("line\n")
    output.close()
    assert ended.getvalue() == b"line\n"
    empty = io.BytesIO()
    Raw(empty).close()
    assert empty.getvalue() == b""


def test_reasoning_is_written_apart_and_ended_before_the_answer() -> None:
    out, thinking = io.BytesIO(), io.StringIO()
    output = Raw(out, thinking)
    output.reasoning("hmm")
    output.reasoning("…")
    output.text("answer")
    output.close()
    assert thinking.getvalue() == "hmm…\n"
    assert out.getvalue() == b"answer\n"
    hidden = io.BytesIO()
    output = Raw(hidden)
    output.reasoning("not shown")
    output.text("a")
    output.close()
    assert hidden.getvalue() == b"a\n"
