from __future__ import annotations

import json

import pytest

from raycast_ai.emulator.delivery import ABORT, Pause
from raycast_ai.emulator.stream import (
    FEW,
    MALFORMED_EVENT,
    OVERSIZED_TEXT,
    Reply,
    answer_reply,
    event,
    opening,
    reply_plan,
    text_event,
)


def reply(n: int = 6, reasoning: int = 0) -> Reply:
    return answer_reply(
        "openai", [f"r{i} " for i in range(reasoning)], [f"t{i} " for i in range(n)], (3, 4)
    )


def test_events_are_compact_utf8_json() -> None:
    assert event({"text": "é", "finish_reason": None}) == (
        'data: {"text":"é","finish_reason":null}\n\n'.encode()
    )
    assert text_event('a "b"\n') == b'data: {"text":"a \\"b\\"\\n"}\n\n'


def test_opening_names_the_providers_status_page() -> None:
    status, ping = opening("anthropic")
    assert json.loads(status[6:]) == {
        "notification_type": "provider_status",
        "notification": "",
        "status": "operational",
        "status_page_url": "https://status.claude.com",
        "text": "",
    }
    assert ping == b'data: {"notification":"","notification_type":"ping","text":""}\n\n'


def test_answer_reply_finish_chunk() -> None:
    done = reply()
    assert done.finish == (
        b'data: {"text":"","finish_reason":"stop","usage":{"input_tokens":3,"output_tokens":4}}\n\n'
    )
    google = answer_reply("google", [], ["a"], (1, 1))
    assert b'"finish_reason":"STOP"' in google.finish


def test_normal_plan_is_opening_content_finish() -> None:
    done = reply()
    assert reply_plan(done) == [*done.opening, *done.content, done.finish]


def test_pacing() -> None:
    done = reply(n=3)
    plan = reply_plan(done, first_delay=0.5, chunk_delay=0.1)
    assert plan == [
        *done.opening,
        Pause(0.5),
        done.content[0],
        Pause(0.1),
        done.content[1],
        Pause(0.1),
        done.content[2],
        done.finish,
    ]


def test_mid_stream_faults_cut_after_a_few_text_chunks() -> None:
    done = reply(n=10, reasoning=2)
    cut = 2 + FEW
    assert reply_plan(done, "truncate") == [*done.opening, *done.content[:cut]]
    assert reply_plan(done, "reset-mid") == [*done.opening, *done.content[:cut], ABORT]
    assert reply_plan(done, "malformed") == [
        *done.opening,
        *done.content[:cut],
        MALFORMED_EVENT,
        *done.content[cut:],
        done.finish,
    ]
    oversized = reply_plan(done, "oversized")
    big = oversized[len(done.opening) + cut]
    assert isinstance(big, bytes)
    assert len(big) > OVERSIZED_TEXT


def test_stalls() -> None:
    done = reply(n=4, reasoning=1)
    assert reply_plan(done, "stall", stall=9) == [
        *done.opening,
        *done.content[:2],
        Pause(9),
        *done.content[2:],
        done.finish,
    ]
    assert reply_plan(done, "stall-before", stall=9) == [
        Pause(9),
        *done.opening,
        *done.content,
        done.finish,
    ]


@pytest.mark.parametrize("n", [0, 1])
def test_faults_on_tiny_answers(n: int) -> None:
    done = reply(n=n)
    assert reply_plan(done, "truncate") == [*done.opening, *done.content]
    assert reply_plan(done, "stall", stall=1)[-2:] == [Pause(1), done.finish]
    assert reply_plan(done, "reset-before") == [ABORT]


def test_model_updated_notice_follows_the_provider_status() -> None:
    done = reply()
    plan = reply_plan(done, "model_updated", reroute="rerouted to GPT-4o")
    assert plan[0] == done.opening[0]
    assert json.loads(plan[1][6:]) == {  # type: ignore[index]
        "notification_type": "model_updated",
        "notification": "rerouted to GPT-4o",
        "text": "",
    }
    assert plan[2:] == [done.opening[1], *done.content, done.finish]
