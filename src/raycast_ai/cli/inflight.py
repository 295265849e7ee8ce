"""A question on its way: a thread of its own sends the request and waits for the first event
worth showing, so the terminal is set up meanwhile (`chat` starts one the moment Enter is
accepted, while the prompt is still being taken down) and a spinner is drawn only when that
wait gets long.

The rest of the answer is read on the caller's thread, where Ctrl-C lands. A stream given up
before then (Ctrl-C during the wait) is closed by its thread once that event comes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from .waiting import announce_retries

if TYPE_CHECKING:
    from raycast_ai.protocol.catalog import ModelEntry
    from raycast_ai.protocol.events import Event

SPIN_AFTER = 0.08  # seconds without an event before a spinner is worth drawing


class Stream(Protocol):
    model: ModelEntry

    def __iter__(self) -> Iterator[Event]: ...

    def close(self) -> None: ...


class InFlight:
    """The events of the stream `open` makes, which a thread starts at once and reads up to the
    first that `shows` (notices of no interest come before it)."""

    def __init__(
        self, open: Callable[[], Stream], shows: Callable[[Event], bool] = lambda event: True
    ) -> None:
        self.model: str | None = None  # the model's id, once the request is made
        self._open = open
        self._shows = shows
        self._stream: Stream | None = None
        self._events: Iterator[Event] = iter(())
        self._early: list[Event] = []
        self._error: BaseException | None = None
        self._arrived = threading.Event()
        self._lock = threading.Lock()
        self._abandoned = False
        self._listener: Callable[[str], None] | None = None
        self._held: list[str] = []
        run_soon(self._fetch)

    def events(self, slow: Callable[[], None] = lambda: None) -> Iterator[Event]:
        """The events; `slow` is called once if the first to show takes over SPIN_AFTER. The
        errors of making the request, and of reading up to that event, are raised here."""
        if not self._arrived.wait(SPIN_AFTER):
            slow()
            self._arrived.wait()
        yield from self._early
        if self._error is not None:
            raise self._error
        yield from self._events

    def listen(self, announce: Callable[[str], None] | None) -> None:
        """The client's retries of this request, said to `announce` (those made before, at
        once); None: to nobody."""
        with self._lock:
            held, self._held, self._listener = self._held, [], announce
        if announce is not None:
            for words in held:
                announce(words)

    def close(self) -> None:
        with self._lock:
            if not self._arrived.is_set():
                self._abandoned = True
                self._listener = None
                return
        if self._stream is not None:
            self._stream.close()

    def _fetch(self) -> None:
        announce_retries(self._retried, thread=threading.get_ident())
        try:
            self._stream = self._open()
            self.model = self._stream.model.id
            self._events = iter(self._stream)
            for event in self._events:
                self._early.append(event)
                if self._shows(event):
                    break
        except BaseException as exc:  # raised again where `events` is read
            self._error = exc
        finally:
            announce_retries(None, thread=threading.get_ident())
        with self._lock:
            self._arrived.set()
            abandoned = self._abandoned
        if abandoned and self._stream is not None:
            with contextlib.suppress(Exception):  # nobody is left to tell
                self._stream.close()

    def _retried(self, words: str) -> None:
        with self._lock:
            listener = self._listener
            if listener is None:
                if not self._abandoned:
                    self._held.append(words)
                return
        listener(words)


# Threads kept waiting for the next question: starting one takes about a millisecond, in the
# middle of the prompt being taken down. One waiting on an answer given up does not hold up the
# next question, which then gets a thread of its own.
_spares: list[queue.SimpleQueue[Callable[[], None]]] = []
_spares_lock = threading.Lock()


def run_soon(job: Callable[[], None]) -> None:
    """Runs `job` on a spare thread (a new one when none is waiting)."""
    with _spares_lock:
        spare = _spares.pop() if _spares else None
    if spare is not None:
        spare.put(job)
    else:
        threading.Thread(target=_serve, args=(job,), name="first-event", daemon=True).start()


def keep_spare() -> None:
    """Starts a thread that waits for a question, so the first one does not pay for it."""
    run_soon(lambda: None)


def _serve(job: Callable[[], None]) -> None:
    jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    while True:
        job()
        with _spares_lock:
            _spares.append(jobs)
        job = jobs.get()
