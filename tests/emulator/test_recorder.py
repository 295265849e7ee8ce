from __future__ import annotations

import threading

import pytest

from raycast_ai.emulator.recorder import RecordedRequest, Recorder


def record(path: str = "/p") -> RecordedRequest:
    return RecordedRequest("POST", path, "", {"a": "b"}, b'{"x":1}')


def test_records_and_snapshots() -> None:
    recorder = Recorder(limit=2)
    first = recorder.add(record("/1"))
    recorder.add(record("/2"))
    recorder.add(record("/3"))
    assert [r.path for r in recorder.requests] == ["/2", "/3"]
    assert first.json() == {"x": 1}
    assert recorder.last is not None
    assert recorder.last.path == "/3"
    assert recorder.for_path("/3") == [recorder.last]
    assert len(recorder) == 2
    recorder.clear()
    assert recorder.last is None


def test_wait_for_wakes_on_a_change_from_another_thread() -> None:
    recorder = Recorder()
    pending = recorder.add(record())
    timer = threading.Timer(0.05, recorder.finish, (pending, "disconnected"))
    timer.start()
    try:
        assert recorder.wait_for_outcome("disconnected", timeout=2) is pending
    finally:
        timer.join()


def test_wait_for_times_out_with_a_summary() -> None:
    recorder = Recorder()
    recorder.add(record("/slow"))
    with pytest.raises(TimeoutError, match="/slow"):
        recorder.wait_for(lambda rs: False, timeout=0.05)
