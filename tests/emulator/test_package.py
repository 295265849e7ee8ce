"""The package's boundaries: a cheap __init__, and built from protocol/ only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

import raycast_ai.emulator
from raycast_ai.emulator import EMULATOR_SECRET, EMULATOR_TOKEN
from raycast_ai.emulator.app import create_app
from raycast_ai.emulator.text import answer_chunks
from raycast_ai.protocol.request import CHAT_PATH

from .support import chunks, signed, texts


def test_constants() -> None:
    assert EMULATOR_TOKEN == "emulator-token"
    assert EMULATOR_SECRET == "raycast-ai-emulator-test-secret"


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, raycast_ai.emulator; "
        "heavy = ('starlette', 'uvicorn', 'raycast_ai.emulator.app'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_protocol_and_itself_are_imported_from_the_project() -> None:
    folder = Path(raycast_ai.emulator.__file__).parent
    for path in folder.glob("*.py"):
        for module in re.findall(
            r"^\s*(?:from|import) (raycast_ai\S*|\.\.\S*)", path.read_text(), re.M
        ):
            assert module.startswith("raycast_ai.protocol"), (path.name, module)


@pytest.mark.anyio
async def test_the_app_also_runs_in_process() -> None:
    app = create_app()
    request, headers = signed("in process")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as http:
        response = await http.post(CHAT_PATH, content=request.body, headers=headers)
    assert texts(chunks(response.content)) == "".join(
        answer_chunks("in process", "openai-gpt-4o-mini", 12)
    )
    assert app.state.recorder.last.outcome == "completed"
