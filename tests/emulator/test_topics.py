"""The emulator's Markdown answers to questions on a few topics."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from raycast_ai.emulator.text import answer_chunks
from raycast_ai.emulator.topics import split, topic_answer


@given(st.text(max_size=300), st.integers(1, 400))
def test_the_pieces_join_back_exactly(text: str, n: int) -> None:
    pieces = split(text, n)
    assert "".join(pieces) == text
    assert len(pieces) <= n


def test_a_question_on_a_topic_gets_realistic_markdown() -> None:
    answer = "".join(answer_chunks("How do I read a JSON file in Python?", "m", 7))
    assert answer.startswith("## Reading JSON in Python")
    assert "```python\n" in answer
    assert "| JSON | Python |" in answer
    assert "     - nested arrays too" in answer
    assert answer == "".join(answer_chunks("How do I read a JSON file in Python?", "other", 3))


def test_each_language_has_its_answer() -> None:
    assert "```bash" in (topic_answer("how to find big files in bash?") or "")
    assert "```rust" in (topic_answer("Compare Python and Rust?") or "")
    assert "```sql" in (topic_answer("Write an SQL query for orders") or "")
    assert "raycast-ai serve" in (topic_answer("What can raycast-ai do for me?") or "")


def test_other_prompts_keep_the_plain_text() -> None:
    for prompt in ("what is a monad?", "python", "hello @chunks:5", "I like json."):
        assert topic_answer(prompt) is None
        assert "".join(answer_chunks(prompt, "m", 5)).startswith(
            ("Voilà", "Déjà vu", "Café crème", "Résumé", "Enchanté")
        )
