"""The library's import surface: the seed names, and nothing heavy pulled in (the `__all__`
lists are pinned in test_public_api.py)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import raycast_ai

FRONT_END = {"fastapi", "starlette", "uvicorn", "click", "rich", "prompt-toolkit"}


def test_seed_names_import() -> None:
    from raycast_ai import MissingAuthError, Raycast
    from raycast_ai.typing import Message, Messages

    assert issubclass(MissingAuthError, ValueError)
    assert Raycast.supports_stream and Raycast.needs_auth and Raycast.working
    assert Raycast.url and Raycast.default_model in Raycast.models
    assert Message and Messages


def requirements(extra: str = "") -> set[str]:
    """What `pip install raycast-ai[extra]` installs, by name, its own extras expanded; read from
    the installed metadata (after changing pyproject.toml: pip install -e '.[dev]')."""
    found = set()
    for line in importlib.metadata.requires("raycast-ai") or []:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        if canonicalize_name(requirement.name) == "raycast-ai":
            found |= set().union(*map(requirements, requirement.extras))
        else:
            found.add(canonicalize_name(requirement.name))
    return found


def test_the_library_requires_no_front_end_package() -> None:
    assert not requirements() & FRONT_END
    assert requirements("server") >= {"starlette", "uvicorn", "pydantic"}
    assert requirements("cli") >= {"click", "rich", "prompt-toolkit", "starlette", "uvicorn"}
    assert requirements("all") == requirements("cli") | requirements("server")
    assert requirements("dev") >= requirements("all")
    assert "fastapi" not in requirements("dev")


def test_importing_the_library_pulls_in_no_front_end() -> None:
    code = (
        "import sys, raycast_ai; "
        "heavy = [m for m in ('fastapi', 'click', 'rich', 'uvicorn', 'starlette', "
        "'prompt_toolkit', 'raycast_ai.server', 'raycast_ai.cli', 'raycast_ai.emulator.app') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_leaves_garbage_collection_alone() -> None:
    """Only `serve()` tunes the collector (server.tune_gc), when the gateway starts."""
    code = (
        "import gc; before = (gc.get_threshold(), gc.get_freeze_count()); "
        "import raycast_ai, raycast_ai.server, raycast_ai.cli.app; "
        "raycast_ai.RaycastClient, raycast_ai.Raycast, raycast_ai.server.create_app; "
        "print(before == (gc.get_threshold(), gc.get_freeze_count()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_protocol_does_no_io_and_imports_nothing_outside_itself() -> None:
    for path in (Path(raycast_ai.__file__).parent / "protocol").glob("*.py"):
        source = path.read_text()
        assert "from .." not in source and "import raycast_ai" not in source, path.name
        for banned in ("socket", "asyncio", "httpx2", "anyio", "threading", "logging"):
            assert f"import {banned}" not in source, (path.name, banned)
