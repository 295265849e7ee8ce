"""`serve()` sets the process's garbage collection up for a server."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from raycast_ai.server import tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restore_gc")
def test_what_start_up_made_is_out_of_collections_and_they_run_less_often() -> None:
    frozen = gc.get_freeze_count()
    made_at_start_up = [[] for _ in range(100)]  # lists: objects the collector tracks
    tune_gc()
    assert gc.get_freeze_count() >= frozen + len(made_at_start_up)
    assert gc.get_threshold()[0] >= 10 * 700  # Python's default is 700
