"""bench/soak.py kept working: a few seconds of it, and its arithmetic."""

from __future__ import annotations

import pytest

import soak


def test_the_slope_is_least_squares_in_mb_per_minute() -> None:
    rising = [(float(t), 100 * soak.MB + t * 3 * soak.MB // 60) for t in range(0, 120, 2)]
    assert soak.slope(rising) == pytest.approx(3.0, abs=0.01)
    assert soak.slope([(0.0, 5)]) == 0.0


@pytest.mark.slow
def test_a_short_soak_runs_without_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert soak.main(["--seconds", "3", "--concurrency", "5", "--interval", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "errors: 0 " in out
    assert "RSS slope" in out
