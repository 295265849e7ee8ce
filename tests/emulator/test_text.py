from __future__ import annotations

from raycast_ai.emulator.text import (
    answer_chunks,
    count_tokens,
    filler,
    reasoning_chunks,
    tool_reply_chunks,
)


def test_answers_are_deterministic_per_prompt_and_model() -> None:
    first = answer_chunks("hello", "openai-gpt-4o-mini", 12)
    assert first == answer_chunks("hello", "openai-gpt-4o-mini", 12)
    assert len(first) == 12
    assert first != answer_chunks("hello!", "openai-gpt-4o-mini", 12)
    assert first != answer_chunks("hello", "openai-gpt-4o", 12)


def test_shorter_answers_are_prefixes_of_longer_ones() -> None:
    long = answer_chunks("q", "m", 60)
    for n in (2, 10, 59):
        short = answer_chunks("q", "m", n)
        assert short[:-1] == long[: n - 1]
        assert short[-1].startswith(long[n - 1].rstrip().rstrip("."))
        assert short[-1].endswith(".")


def test_every_answer_carries_the_awkward_characters() -> None:
    for n in (1, 2, 12):
        text = "".join(answer_chunks("hi", "raycast-ray1", n))
        assert "data: " in text
        assert "—" in text
        assert any(c in text for c in "àéè")
        assert any(ord(c) > 0xFFFF for c in text)  # an emoji outside the BMP
        assert text.endswith(".")
    long = "".join(answer_chunks("hi", "raycast-ray1", 200))
    for awkward in ('"quoted"', "\\", "\n\n"):
        assert awkward in long


def test_chunk_counts_at_the_edges() -> None:
    assert answer_chunks("x", "m", 0) == []
    assert len(answer_chunks("x", "m", 20_000)) == 20_000
    assert all(piece for piece in answer_chunks("x", "m", 500))


def test_returned_lists_are_copies() -> None:
    pieces = answer_chunks("copy", "m", 3)
    pieces.append("changed")
    assert len(answer_chunks("copy", "m", 3)) == 3


def test_reasoning_and_tool_replies() -> None:
    assert reasoning_chunks("q", "m", 3) == reasoning_chunks("q", "m", 3)
    assert len(reasoning_chunks("q", "m", 5)) == 5
    reply = tool_reply_chunks("weather", '{"temp":21}', "m", 4)
    assert len(reply) == 4
    assert '{"temp":21}' in reply[0]
    assert tool_reply_chunks("weather", "x", "m", 0) == []


def test_token_count_and_filler() -> None:
    assert count_tokens("") == 0
    assert count_tokens("a b  c\n") == 3
    assert len(filler(2 << 20)) == 2 << 20
    assert filler(10).isascii()
