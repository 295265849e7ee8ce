"""The integration tests' venvs: when one cannot be made (no PyPI), the tests that need it fail
and say how to make it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import venv_bin

pytestmark = pytest.mark.slow  # makes a venv (seconds)


def test_a_venv_that_cannot_be_made_fails_saying_how(tmp_path: Path) -> None:
    offline = {
        **os.environ,
        "RAYCAST_AI_VENVS": str(tmp_path / "venvs"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_FIND_LINKS": "",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }
    with pytest.raises(pytest.fail.Exception) as failed:
        venv_bin("g4f-8.8.6", offline)
    message = str(failed.value)
    assert "The 'g4f-8.8.6' test environment could not be made." in message
    assert "scripts/install-test-venvs.sh" in message and "PyPI" in message
    assert "could not install" in message  # the script's own words, last lines of its output
    assert not (tmp_path / "venvs" / "g4f-8.8.6").exists()
