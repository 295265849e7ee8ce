from __future__ import annotations

import pytest

from raycast_ai.emulator.faults import (
    DEFAULT_RETRY_AFTER,
    DEFAULT_STALL,
    FAULTS,
    AttemptLog,
    DirectiveError,
    Directives,
    parse_directives,
)


def test_plain_text_has_no_directives() -> None:
    assert parse_directives("What is 2+2? Mail me@fault:429 please") == Directives()


def test_magic_words() -> None:
    found = parse_directives(
        "hi @fault:stall @chunks:5 @delay:0.05 @first:1.5 @stall:2 @retry-after:3 @tool"
    )
    assert found == Directives(
        fault="stall", chunks=5, delay=0.05, first_delay=1.5, stall=2.0, retry_after=3.0, tool=""
    )


def test_trailing_punctuation_and_last_word_wins() -> None:
    found = parse_directives("(@fault:500), then @fault:429. And @delay:0.5.")
    assert found.fault == "429"
    assert found.delay == 0.5


def test_named_tool() -> None:
    assert parse_directives("use @tool:weather-get-weather now").tool == "weather-get-weather"
    assert parse_directives("a @toolbox").tool is None


def test_headers_win_over_words() -> None:
    headers = {
        "x-emulator-fault": "503",
        "x-emulator-chunks": "2",
        "x-emulator-delay": "0.1",
        "x-emulator-first-delay": "0.2",
        "x-emulator-stall": "4",
        "x-emulator-retry-after": "7",
    }
    found = parse_directives("@fault:429 @chunks:9", headers)
    assert found == Directives(
        fault="503", chunks=2, delay=0.1, first_delay=0.2, stall=4.0, retry_after=7.0
    )


def test_defaults() -> None:
    assert Directives().stall_seconds == DEFAULT_STALL == 30
    assert Directives().retry_after_seconds == DEFAULT_RETRY_AFTER == 1
    assert Directives(stall=0.5, retry_after=0).stall_seconds == 0.5


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("@fault:42", "Unknown emulator fault '42'"),
        ("@fault:reset", "use one of"),
        ("@chunks:many", "@chunks takes a whole number"),
        ("@chunks:-1", "@chunks takes a whole number"),
        ("@chunks:2000000", "@chunks takes a whole number"),
        ("@delay:soon", "@delay takes a number of seconds"),
        ("@first:nan", "@first takes a number of seconds"),
        ("@stall:-3", "@stall takes a number of seconds"),
        ("@chunks", "@chunks needs a value"),
    ],
)
def test_bad_directives_are_errors(text: str, complaint: str) -> None:
    with pytest.raises(DirectiveError, match=complaint):
        parse_directives(text)


def test_the_fault_list() -> None:
    expected = {"401", "403", "404", "429", "500", "502", "503", "reset-before", "reset-mid"}
    expected |= {"stall", "stall-before", "truncate", "malformed", "context_error"}
    expected |= {"credits_error", "free_trial", "unknown_api_error", "model_updated", "oversized"}
    expected |= {"flaky-503", "flaky-429", "flaky-reset"}
    assert expected == FAULTS


def test_attempt_log_fails_only_first_attempts_and_forgets_the_oldest() -> None:
    log = AttemptLog(limit=2)
    assert log.first_attempt("a")
    assert not log.first_attempt("a")
    assert log.first_attempt("b")
    assert log.first_attempt("c")
    assert log.first_attempt("a")  # forgotten: only two are kept
