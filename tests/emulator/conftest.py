"""An httpx2 client for the emulator (tests/conftest.py) on its loopback socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from raycast_ai.emulator.server import EmulatorServer


@pytest.fixture(scope="module")
def http(emulator: EmulatorServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=emulator.base_url, timeout=5.0, trust_env=False) as client:
        yield client
