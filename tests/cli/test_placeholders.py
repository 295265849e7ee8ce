"""Raycast's placeholders found and filled, as a table."""

from __future__ import annotations

import pytest

from raycast_ai.cli.placeholders import Argument, Template

CONTEXT = {"selection": "  Some Text ", "clipboard": "a&b", "date": "3 December 2026"}


@pytest.mark.parametrize(
    ("prompt", "arguments", "filled"),
    [
        ("Fix: {selection}", {}, "Fix:   Some Text "),
        ("Fix: { selection | trim | uppercase }", {}, "Fix: SOME TEXT"),
        ("{clipboard|percent-encode} {clipboard | json-stringify}", {}, 'a%26b "a&b"'),
        (
            'In {argument name="lang" default="French"}: {argument name=lang}',
            {"lang": "Thai"},
            "In Thai: Thai",
        ),
        ("{argument} and {argument}", {"argument": "x", "argument2": "y"}, "x and y"),
        ("On {date}, {browser-tab}", {}, "On 3 December 2026, {browser-tab}"),
        (
            '{selection | shout} {date format="yyyy"}',
            {},
            '{selection | shout} {date format="yyyy"}',
        ),
        ('code: {"a": 1} and {x: 1}', {}, 'code: {"a": 1} and {x: 1}'),
    ],
)
def test_fill(prompt: str, arguments: dict[str, str], filled: str) -> None:
    assert Template.parse(prompt).fill(CONTEXT, arguments) == filled


def test_arguments_in_order_with_defaults_options_and_unknown_attributes() -> None:
    template = Template.parse(
        'A {argument name="tone" options="formal, casual" placeholder="Tone"} '
        '{argument name="lang" default="French"} {argument} {argument name="tone"}'
    )
    assert template.arguments() == (
        Argument("tone", None, ("formal", "casual")),
        Argument("lang", "French"),
        Argument("argument"),
    )


def test_needs_and_unsupported() -> None:
    template = Template.parse("{selection} {clipboard | nope} {snippet name='x'} {x: 1}")
    assert template.needs("selection")
    assert not template.needs("clipboard")  # an unknown modifier: left as written
    # `{x: 1}` is not placeholder syntax at all: no warning for braces in code.
    assert template.unsupported() == ("{clipboard | nope}", "{snippet name='x'}")
