"""A question on its way: its request made by a thread of its own, its events read in order,
the spinner asked for only when the wait is long, a stream given up closed, retries said."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from raycast_ai.cli import inflight
from raycast_ai.cli.exchange import Session
from raycast_ai.cli.inflight import SPIN_AFTER, InFlight, run_soon
from raycast_ai.cli.output import Raw, shows
from raycast_ai.cli.waiting import ERASE_LINE, Spinner
from raycast_ai.protocol.catalog import ModelEntry
from raycast_ai.protocol.errors import AuthenticationError
from raycast_ai.protocol.events import Event, Finish, Notice, TextDelta, Usage

MODEL = ModelEntry(id="fake-model", model="fake", provider="fake", name="Fake")
EVENTS: list[Event] = [
    Notice("provider_status", "operational"),
    Notice("ping"),
    TextDelta("Hello"),
    TextDelta(", world"),
    Usage(1, 2),
    Finish("stop"),
]


class Gated:
    """A stream whose events wait, from `gate_at` on, until `gate` is set."""

    def __init__(self, events: Sequence[Event], gate_at: int = 0) -> None:
        self.model = MODEL
        self.gate = threading.Event()
        self.closed = threading.Event()
        self.readers: set[str] = set()
        self._events = events
        self._gate_at = gate_at

    def __iter__(self) -> Iterator[Event]:
        for n, event in enumerate(self._events):
            if n >= self._gate_at:
                self.gate.wait(5)
            self.readers.add(threading.current_thread().name)
            yield event

    def close(self) -> None:
        self.closed.set()


def test_the_events_come_in_order_and_a_quick_answer_asks_for_no_spinner() -> None:
    stream = Gated(EVENTS)
    stream.gate.set()
    slow: list[bool] = []
    flight = InFlight(lambda: stream, shows)
    assert list(flight.events(lambda: slow.append(True))) == EVENTS
    assert slow == []
    assert flight.model == "fake-model"
    # The request and the wait for the first text were the thread's; the rest, the caller's.
    assert stream.readers == {"first-event", threading.current_thread().name}


def test_a_slow_first_token_asks_for_the_spinner_once() -> None:
    stream = Gated(EVENTS, gate_at=2)  # the notices at once, the text late
    slow: list[bool] = []
    flight = InFlight(lambda: stream, shows)
    threading.Timer(SPIN_AFTER * 3, stream.gate.set).start()
    assert list(flight.events(lambda: slow.append(True))) == EVENTS
    assert slow == [True]  # notices that show nothing do not end the wait


def test_errors_come_from_the_events_after_what_arrived_before_them() -> None:
    def fails() -> Iterator[Event]:
        yield Notice("ping")
        raise AuthenticationError("refused")

    class Failing(Gated):
        def __iter__(self) -> Iterator[Event]:
            return fails()

    flight = InFlight(lambda: Failing([]), shows)
    seen: list[Event] = []
    with pytest.raises(AuthenticationError):
        seen.extend(flight.events())
    assert seen == [Notice("ping")]
    assert flight.model == "fake-model"  # the request was made


def test_an_error_making_the_request_leaves_no_model() -> None:
    def refuse() -> Gated:
        raise AuthenticationError("no token")

    flight = InFlight(refuse, shows)
    with pytest.raises(AuthenticationError, match="no token"):
        list(flight.events())
    assert flight.model is None


def test_a_stream_given_up_while_waiting_is_closed_once_its_first_event_comes() -> None:
    stream = Gated(EVENTS)
    flight = InFlight(lambda: stream, shows)
    flight.close()  # Ctrl-C before the answer started
    assert not stream.closed.is_set()  # its thread is still reading: it closes it
    stream.gate.set()
    assert stream.closed.wait(5)


def test_retries_are_said_to_whoever_listens_even_those_made_before() -> None:
    stream = Gated(EVENTS)
    log = logging.getLogger("raycast_ai.test")

    def retrying() -> Gated:
        log.info("retry", extra={"retry": "rate limited by Raycast, retrying in 1.0 s"})
        said.set()
        return stream

    said = threading.Event()
    flight = InFlight(retrying, shows)
    assert said.wait(5)
    heard: list[str] = []
    flight.listen(heard.append)
    assert heard == ["rate limited by Raycast, retrying in 1.0 s"]
    stream.gate.set()
    list(flight.events())


def test_the_retries_of_a_stream_given_up_are_said_to_nobody() -> None:
    stream = Gated(EVENTS)
    log = logging.getLogger("raycast_ai.test")
    heard: list[str] = []
    go, said = threading.Event(), threading.Event()

    def retrying() -> Gated:
        go.wait(5)
        log.info("retry", extra={"retry": "retrying in 1.0 s"})
        said.set()
        return stream

    flight = InFlight(retrying, shows)
    flight.listen(heard.append)
    flight.close()
    go.set()
    assert said.wait(5)
    stream.gate.set()
    assert stream.closed.wait(5)
    assert heard == []


class Slow:
    """A client whose answer starts after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def stream(self, messages: object, model: object = None, **options: object) -> Gated:
        stream = Gated([Notice("ping"), TextDelta("Hi there."), Finish("stop")], gate_at=1)
        threading.Timer(self.delay, stream.gate.set).start()
        return stream


@pytest.mark.parametrize("delay", [0.0, SPIN_AFTER * 4])
def test_the_spinner_shows_only_for_a_slow_first_token_and_is_gone_before_the_text(
    delay: float,
) -> None:
    terminal, answer = io.StringIO(), io.BytesIO()
    output = Raw(answer)
    output.spinner = Spinner(terminal, interval=0.01)
    session = Session(Slow(delay))  # type: ignore[arg-type]
    session.ask("hello", output)
    assert answer.getvalue() == b"Hi there.\n"
    drawn = terminal.getvalue()
    if not delay:
        assert drawn == ""  # a spinner that never shows costs nothing
    else:
        assert "waiting for Raycast" in drawn
        assert drawn.endswith(ERASE_LINE)


def test_questions_reuse_a_waiting_thread_and_one_stuck_holds_up_nothing() -> None:
    ran: dict[str, int] = {}
    done = threading.Event()
    run_soon(lambda: (ran.setdefault("first", threading.get_ident()), done.set()))
    assert done.wait(5)
    deadline = time.monotonic() + 5
    while not inflight._spares and time.monotonic() < deadline:  # until it waits again
        time.sleep(0.01)
    done.clear()
    waiting = {thread.ident for thread in threading.enumerate()}
    stuck, began = threading.Event(), threading.Event()

    def given_up() -> None:
        ran["given up"] = threading.get_ident()
        began.set()
        stuck.wait(5)

    run_soon(given_up)
    run_soon(lambda: (ran.setdefault("next", threading.get_ident()), done.set()))
    assert done.wait(5)  # the next question did not wait for the one given up
    assert began.wait(5)
    stuck.set()
    assert ran["given up"] in waiting  # a thread reused, not started
    assert ran["next"] != ran["given up"]
