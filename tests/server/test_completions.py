"""Legacy text completions and the embeddings refusal, through the official openai client,
in-process and over a socket (the `client` fixture of test_app.py's kind)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from raycast_ai.emulator.text import answer_chunks, count_tokens

pytestmark = pytest.mark.anyio

MODEL = "openai-gpt-4o-mini"


def expected(prompt: str, n: int) -> str:
    return "".join(answer_chunks(prompt, MODEL, n))


async def test_a_text_completion(client: openai.AsyncOpenAI) -> None:
    prompt = "Once upon a time @chunks:4"
    done = await client.completions.create(model=MODEL, prompt=prompt)
    assert done.object == "text_completion"
    assert done.id.startswith("cmpl-")
    assert done.model == MODEL
    assert done.choices[0].text == expected(prompt, 4)
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.prompt_tokens == count_tokens(prompt)


async def test_a_streamed_text_completion_with_usage(client: openai.AsyncOpenAI) -> None:
    prompt = "Stream it @chunks:6"
    stream = await client.completions.create(
        model=MODEL, prompt=[prompt], stream=True, stream_options={"include_usage": True}
    )
    pieces, reasons, usage = [], [], None
    async for chunk in stream:
        assert chunk.object == "text_completion"
        if chunk.choices:
            pieces.append(chunk.choices[0].text)
            reasons.append(chunk.choices[0].finish_reason)
        else:
            usage = chunk.usage
    assert "".join(pieces) == expected(prompt, 6)
    assert reasons[-1] == "stop" and set(reasons[:-1]) == {None}
    assert usage is not None and usage.completion_tokens == count_tokens(expected(prompt, 6))


async def test_echo_puts_the_prompt_first(client: openai.AsyncOpenAI) -> None:
    prompt = "Echo me @chunks:2"
    done = await client.completions.create(model=MODEL, prompt=prompt, echo=True)
    assert done.choices[0].text == prompt + expected(prompt, 2)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [([1, 2, 3], "Token arrays are not supported"), (["a", "b"], "one prompt per request")],
)
async def test_prompts_raycast_cannot_answer_are_400s(
    client: openai.AsyncOpenAI, prompt: Any, message: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=message) as caught:
        await client.completions.create(model=MODEL, prompt=prompt)
    assert caught.value.param == "prompt"


async def test_an_upstream_fault_is_an_openai_error(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="Unknown model"):
        await client.completions.create(model="no-such-model", prompt="hi")
    # Last: after a 429 the gateway's account cools down, and the gateway answers 429 itself.
    with pytest.raises(openai.RateLimitError):
        await client.completions.create(model=MODEL, prompt="busy @fault:429")


async def test_embeddings_say_raycast_has_none(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="Embeddings are not supported") as caught:
        await client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert caught.value.code == "unknown_url"
