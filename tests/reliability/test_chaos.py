"""Chaos under load, CI-sized: a few hundred concurrent requests through one gateway under
uvicorn while the emulator injects a fault into most of them (rules and long mode in
bench/chaos.py)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from pathlib import Path

import pytest

import chaos


@pytest.mark.slow
def test_every_request_ends_well_and_nothing_leaks(tmp_path: Path) -> None:
    report = chaos.run(400, concurrency=300, seed=20261125, home=tmp_path)
    print(report.markdown())  # shown with -s, or when the test fails
    problems = report.problems()
    assert not problems, "\n".join([report.markdown(), *problems[:40]])
    # The round did what it is for: every allowed ending, and nearly every fault, happened.
    kinds = Counter(o.kind for o in report.outcomes)
    assert all(kinds[k] for k in (chaos.OK, chaos.ERROR_STATUS, chaos.ERROR_IN_STREAM))
    assert kinds[chaos.HUNG_UP]
    assert len({o.spec.fault for o in report.outcomes}) >= len(chaos.FAULTS) - 2


def test_the_judge_catches_what_it_must() -> None:
    """The rules themselves: a silently cut stream, a wrong text, a bare error, an error that is
    not last, and a stream without [DONE] are violations."""
    spec = chaos.Spec(index=0, fault=None, chunks=4, delay=0, stream=True, hangup=False)
    text = spec.expected
    head = b'data: {"choices":[{"index":0,"delta":{"content":%s},"finish_reason":%s}]}\n\n'

    def frame(content: str, finish: str | None = None) -> bytes:
        quoted = json.dumps(content).encode()
        return head % (quoted, json.dumps(finish).encode())

    done = b"data: [DONE]\n\n"
    error = b'data: {"error":{"message":"m","type":"t","param":null,"code":null}}\n\n'
    judge = functools.partial(chaos.judge_stream, spec)
    assert judge(200, frame(text) + frame("", "stop") + done).kind == chaos.OK
    assert judge(200, frame(text[:5]) + error + done).kind == chaos.ERROR_IN_STREAM
    for bad in (
        frame(text[:5]) + frame("", "stop") + done,  # cut short, yet "finished"
        frame(text[:5]) + done,  # cut short in silence
        frame(text),  # no [DONE]
        frame(text[:5]) + error + frame("more") + done,  # the error is not the last event
        frame("not the answer") + error + done,  # the text before the error is wrong
        frame(text) + b'data: {"error":"bare"}\n\n' + done,  # not OpenAI's error shape
    ):
        assert judge(200, bad).kind == chaos.VIOLATION, bad
    assert judge(502, b'{"error":{"message":"m","type":"t"}}').kind == chaos.VIOLATION
    assert judge(502, b"Bad Gateway").kind == chaos.VIOLATION
    status = judge(
        504, b'{"error":{"message":"m","type":"t","param":null,"code":"upstream_timeout"}}'
    )
    assert status.kind == chaos.ERROR_STATUS
    # A clean request may time out under load; a fault's error must be the one it asks for.
    assert chaos.expectation(spec, status).kind == chaos.TIMED_OUT
    assert chaos.expectation(spec, chaos.Verdict(chaos.ERROR_STATUS)).kind == chaos.VIOLATION
    truncated = dataclasses.replace(spec, fault="truncate")
    assert chaos.expectation(truncated, chaos.Verdict(chaos.OK)).kind == chaos.VIOLATION
