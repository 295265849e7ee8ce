"""Runs in a g4f virtual environment (not the dev one): calls through g4f's public API with our
provider. The emulator's address, secret and the data folder come from the environment
(RAYCAST_BASE_URL, RAYCAST_SIGNING_SECRET, RAYCAST_AI_HOME), as a user's script would have them.

Reads a JSON object of calls, `{"key": {"way": ..., "token": ..., "model": ..., "prompt": ...,
"effort": ...}}`, from stdin and prints their results under the same keys, as one JSON object
(one process for them all: importing g4f takes seconds). `way`: client, client-provider,
client-stream, async, async-stream, legacy, legacy-stream, legacy-async, models, tools, image.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import g4f
import g4f.debug
from g4f.client import AsyncClient, Client

from raycast_ai.integrations.g4f import Raycast

g4f.debug.version_check = False  # no PyPI lookup from a test
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2219bc40000000049454e44ae426082"
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def chunks_result(chunks: list[Any]) -> dict[str, Any]:
    text, reasoning, usage, finish = [], [], None, None
    for chunk in chunks:
        choice = chunk.choices[0]
        if choice.delta.content:
            text.append(choice.delta.content)
        if getattr(choice.delta, "reasoning", None):
            reasoning.append(str(choice.delta.reasoning))
        finish = choice.finish_reason or finish
        if getattr(chunk, "usage", None) is not None:
            usage = dict(chunk.usage)
    return {
        "chunks": len(chunks),
        "text": "".join(text),
        "reasoning": "".join(reasoning),
        "usage": usage,
        "finish_reason": finish,
    }


def completion_result(completion: Any) -> dict[str, Any]:
    message = completion.choices[0].message
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in message.tool_calls or ()
    ]
    return {
        "text": message.content,
        "reasoning": getattr(message, "reasoning", None),
        "tool_calls": calls,
        "usage": dict(completion.usage) if completion.usage is not None else None,
        "finish_reason": completion.choices[0].finish_reason,
        "provider": getattr(completion, "provider", None),
    }


def run(way: str, token: str, model: str, prompt: str, effort: str | None) -> dict[str, Any]:
    messages = [{"role": "user", "content": prompt}]
    extra = {"reasoning_effort": effort} if effort else {}
    if way == "client":
        completion = Client().chat.completions.create(
            model=model, messages=messages, provider=Raycast, api_key=token, **extra
        )
        return completion_result(completion)
    if way == "client-provider":  # the provider and the key given to the client itself
        client = Client(provider=Raycast, api_key=token)
        return completion_result(client.chat.completions.create(model=model, messages=messages))
    if way == "tools":
        completion = Client().chat.completions.create(
            model=model, messages=messages, provider=Raycast, api_key=token, tools=TOOLS
        )
        return completion_result(completion)
    if way == "image":
        completion = Client().chat.completions.create(
            model=model,
            messages=messages,
            provider=Raycast,
            api_key=token,
            image=PNG,
            image_name="dot.png",
        )
        return completion_result(completion)
    if way == "client-stream":
        stream = Client().chat.completions.create(
            model=model, messages=messages, provider=Raycast, api_key=token, stream=True, **extra
        )
        return chunks_result(list(stream))
    if way == "async":
        return asyncio.run(run_async(model, messages, token, stream=False, extra=extra))
    if way == "async-stream":
        return asyncio.run(run_async(model, messages, token, stream=True, extra=extra))
    if way == "legacy":
        text = g4f.ChatCompletion.create(
            model=model, messages=messages, provider=Raycast, api_key=token
        )
        return {"text": text}
    if way == "legacy-stream":
        pieces = g4f.ChatCompletion.create(
            model=model, messages=messages, provider=Raycast, api_key=token, stream=True
        )
        return {"pieces": [str(p) for p in pieces if isinstance(p, str)]}
    if way == "legacy-async":
        text = asyncio.run(
            g4f.ChatCompletion.create_async(
                model=model, messages=messages, provider=Raycast, api_key=token
            )
        )
        return {"text": text}
    if way == "models":
        return {"models": Raycast.get_models(api_key=token), "vision": Raycast.vision_models}
    raise SystemExit(f"unknown way {way}")


async def run_async(
    model: str, messages: list[dict[str, Any]], token: str, *, stream: bool, extra: dict[str, Any]
) -> dict[str, Any]:
    client = AsyncClient()
    if not stream:
        completion = await client.chat.completions.create(
            model=model, messages=messages, provider=Raycast, api_key=token, **extra
        )
        return completion_result(completion)
    response = client.chat.completions.create(
        model=model, messages=messages, provider=Raycast, api_key=token, stream=True, **extra
    )
    if asyncio.iscoroutine(response):  # 6.x returns the stream itself, 8.x a coroutine of it
        response = await response
    return chunks_result([chunk async for chunk in response])


def main() -> None:
    results = {}
    for key, call in json.load(sys.stdin).items():
        try:
            result = run(call["way"], call["token"], call["model"], call["prompt"], call["effort"])
        except Exception as exc:
            error = f"{type(exc).__module__}.{type(exc).__name__}"
            result = {"error": error, "message": str(exc)}
        results[key] = {**result, "g4f": g4f.version.utils.current_version}
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
