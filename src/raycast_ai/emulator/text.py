"""Deterministic answers: one prompt and model always stream the same pieces, so a test can
compute the exact text it should receive (`"".join(answer_chunks(prompt, model_id, n))`).

The first piece always holds non-ASCII text ("é", "—", an emoji) and the literal `data: `, and
later pieces carry quotes, a backslash and paragraph breaks: clients must pass them through
untouched, however the bytes are cut.
"""

from __future__ import annotations

import functools
import hashlib
import random

from .topics import split, topic_answer

_OPENERS = ("Voilà", "Déjà vu", "Café crème", "Résumé", "Enchanté")
_EMOJI = ("🚀", "🙂", "✨", "🧪", "🦊")
_WORDS = (
    "the",
    "emulator",
    "streams",
    "a",
    "deterministic",
    "answer",
    "naïve",
    "façade",
    "über",
    "smörgåsbord",
    "日本語",
    "piñata",
    "every",
    "chunk",
    "arrives",
    "in",
    "order",
    "with",
    "care",
    '"quoted"',
    "back\\slash",
    "and",
    "tokens",
    "—",
    "50%",
    "{braces}",
)
_THOUGHTS = (
    "Let me think",
    "about what",
    "the user asks —",
    "checking details",
    "weighing options",
    "naïvely first,",
    "then carefully",
    "drafting a reply",
)


def _rng(kind: str, prompt: str, model_id: str) -> random.Random:
    digest = hashlib.sha256(f"{kind}\0{model_id}\0{prompt}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@functools.lru_cache(maxsize=256)
def _answer(prompt: str, model_id: str, n: int) -> tuple[str, ...]:
    if n <= 0:
        return ()
    topic = topic_answer(prompt)
    if topic is not None:
        return tuple(split(topic, n))
    rng = _rng("answer", prompt, model_id)
    choice, randint, rand = rng.choice, rng.randint, rng.random
    pieces = [f"{choice(_OPENERS)} — {choice(_EMOJI)} data: {choice(_WORDS)} "]
    since_stop = 0
    for _ in range(1, n):
        words = [choice(_WORDS) for _ in range(randint(1, 3))]
        since_stop += len(words)
        piece = " ".join(words)
        if since_stop >= 9:
            since_stop = 0
            piece += ".\n\n" if rand() < 0.3 else ". "
        else:
            piece += " "
        pieces.append(piece)
    last = pieces[-1].rstrip()
    pieces[-1] = last if last.endswith(".") else last + "."
    return tuple(pieces)


def answer_chunks(prompt: str, model_id: str, n: int) -> list[str]:
    """The `n` text pieces the emulator streams for this prompt (last user message) and model id.

    A shorter answer is a prefix of a longer one, except that its last piece ends the sentence.
    A question on one of `topics`' subjects gets that topic's Markdown, in `n` pieces.
    """
    return list(_answer(prompt, model_id, n))


def reasoning_chunks(prompt: str, model_id: str, n: int = 3) -> list[str]:
    """The reasoning pieces streamed before the answer by models that think."""
    rng = _rng("reasoning", prompt, model_id)
    pieces = [
        " ".join(rng.choice(_THOUGHTS) for _ in range(rng.randint(1, 2))) + " " for _ in range(n)
    ]
    if pieces:
        pieces[-1] = pieces[-1].rstrip() + "…"
    return pieces


def tool_reply_chunks(name: str, result: str, model_id: str, n: int) -> list[str]:
    """The answer after a tool ran: the result string verbatim, then `n - 1` ordinary pieces."""
    if n <= 0:
        return []
    return [f"The {name} tool returned: {result}\n\n", *answer_chunks(result, model_id, n - 1)]


def count_tokens(text: str) -> int:
    """The emulator's token count: whitespace-separated words."""
    return len(text.split())


def filler(size: int) -> str:
    """`size` characters of plain ASCII text, for oversized events."""
    unit = "oversized event text "
    return (unit * (size // len(unit) + 1))[:size]
