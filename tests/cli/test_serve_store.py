"""`raycast-ai serve --store`, `--rate-limit` and `--rate-limit-fail`: what reaches the
gateway's settings, what is printed at start, and bad values refused in one line."""

from __future__ import annotations

from typing import Any

import pytest

from raycast_ai.server.security import hash_key, key_id
from raycast_ai.store.base import RateLimit

from .conftest import Invoke


def _served_with(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, *args: str, input: str | None = None
) -> tuple[Any, dict[str, Any]]:
    import raycast_ai.server

    seen: dict[str, Any] = {}
    monkeypatch.setattr(raycast_ai.server, "serve", lambda *a, **kwargs: seen.update(kwargs))
    return invoke("serve", "--port", "0", *args, input=input), seen


def test_the_store_and_the_rate_limit_reach_the_gateway_and_are_shown(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, seen = _served_with(
        invoke,
        monkeypatch,
        "--store",
        "redis://:hunter2@127.0.0.1:6390/3",
        "--rate-limit",
        "60/min",
        "--rate-limit-fail",
        "closed",
        "--api-key-stdin",
        input="sk-first\nsk-second\n",
    )
    assert result.exit_code == 0, result.output
    assert seen["store_url"] == "redis://:hunter2@127.0.0.1:6390/3"
    assert seen["rate_limit"] == RateLimit(60, 60.0)
    assert seen["rate_limit_fail"] == "closed"
    err = result.stderr
    assert f"Key 1: {key_id(hash_key('sk-first'))}" in err
    assert f"Key 2: {key_id(hash_key('sk-second'))}" in err
    assert "sk-first" not in err
    assert "Shared store: Redis at redis://:***@127.0.0.1:6390/3" in err
    assert "hunter2" not in err
    assert "Rate limit: 60 requests per minute per key (failing closed" in err


def test_the_store_comes_from_the_environment_and_the_defaults_are_embedded(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, seen = _served_with(invoke, monkeypatch)
    assert result.exit_code == 0, result.output
    assert (seen["store_url"], seen["rate_limit"], seen["rate_limit_fail"]) == (None, None, "open")
    monkeypatch.setenv("RAYCAST_AI_STORE", "redis://10.0.0.5:6379/0")
    result, seen = _served_with(invoke, monkeypatch)
    assert "Shared store: Redis at redis://10.0.0.5:6379/0" in result.stderr
    assert seen["store_url"] == "redis://10.0.0.5:6379/0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "http://127.0.0.1:6379"), "'http://127.0.0.1:6379' is not a Redis URL"),
        (("--store", "redis://host:port"), "'redis://host:port' is not a Redis URL"),
        (("--rate-limit", "60/day"), "'60/day' is not a rate limit"),
        (("--rate-limit-fail", "maybe"), "'maybe' is not one of 'open', 'closed'"),
    ],
)
def test_bad_values_stop_serve_before_anything_starts(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    result, seen = _served_with(invoke, monkeypatch, *args)
    assert result.exit_code == 2
    assert not seen
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert "OpenAI-compatible gateway on" not in result.stderr
