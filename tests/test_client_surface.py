"""The sync and async clients are mirrors: the same public names (`close` is `aclose`), and
the same parameters, kinds and defaults, so that they cannot drift apart again."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from raycast_ai.client import AsyncChatStream, AsyncRaycastClient, ChatStream, RaycastClient

# Names that differ only by the async prefix, and what only one side can have.
RENAMED = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
SHELL_ONLY = {"sleep"}  # a blocking sleep or an awaitable one: same name, other types


def public(cls: type) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def shape(function: Any) -> list[tuple[str, Any, Any]]:
    return [
        (p.name, p.kind, p.default if p.name not in SHELL_ONLY else None)
        for p in inspect.signature(function).parameters.values()
    ]


@pytest.mark.parametrize(
    ("sync", "asynchronous"),
    [(RaycastClient, AsyncRaycastClient), (ChatStream, AsyncChatStream)],
    ids=["client", "stream"],
)
def test_the_same_public_names_and_signatures(sync: type, asynchronous: type) -> None:
    names = public(sync)
    assert {RENAMED.get(n, n) for n in names} == public(asynchronous)
    for name in sorted(names):
        mine, theirs = getattr(sync, name), getattr(asynchronous, RENAMED.get(name, name))
        if callable(mine):
            assert shape(mine) == shape(theirs), name


def test_the_same_settings() -> None:
    assert shape(RaycastClient.__init__) == shape(AsyncRaycastClient.__init__)


def test_constructors_are_keyword_only() -> None:
    for cls in (RaycastClient, AsyncRaycastClient):
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters), cls
