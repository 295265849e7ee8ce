"""What a terminal shows while nothing else moves: a spinner on stderr until the first token,
and the client's retries said in words ("rate limited by Raycast, retrying in 2 s") instead of
a silent stall.

The clients log each retry (logger `raycast_ai`, a record with `retry` set); `announce_retries`
routes those records to whoever is waiting for an answer: by the thread that made the retry
(each question's request is made on a thread of its own, `inflight.py`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import IO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ERASE_LINE = "\r\x1b[K"


class Spinner:
    """A spinner with a label on `stream` (a terminal), drawn by a thread until `stop`."""

    def __init__(
        self, stream: IO[str], label: str = "waiting for Raycast", interval: float = 0.08
    ) -> None:
        self._stream = stream
        self._label = label
        self._interval = interval
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._spin, name="spinner", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stops and erases it; the line is clean when this returns. The thread is not waited
        for (that can take a thread switch, milliseconds before the first token shows): it
        checks, under the lock, that it still turns before each frame."""
        if self._thread is None or self._stopped.is_set():
            return
        with self._lock:
            self._stopped.set()
            self._write(ERASE_LINE)

    def say(self, message: str) -> None:
        """A line of its own above the spinner, which goes on below it."""
        with self._lock:
            self._write(f"{ERASE_LINE}{message}\n")

    def _spin(self) -> None:
        frame = 0
        while not self._stopped.wait(0 if frame == 0 else self._interval):
            with self._lock:
                if self._stopped.is_set():
                    return
                self._write(f"\r{FRAMES[frame % len(FRAMES)]} {self._label}")
            frame += 1

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(text)
            self._stream.flush()


class _RetryNotices(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.target: Callable[[str], None] | None = None
        self.threads: dict[int, Callable[[str], None]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        target = self.threads.get(record.thread or 0, self.target)
        words = getattr(record, "retry", None)
        if target is not None and isinstance(words, str):
            target(words)


_notices = _RetryNotices()


def announce_retries(target: Callable[[str], None] | None, *, thread: int | None = None) -> None:
    """From now on each retry of the clients is told to `target` as a line of text (None:
    to nobody); with `thread` (an ident), only the retries made on that thread."""
    logger = logging.getLogger("raycast_ai")
    if _notices not in logger.handlers:
        logger.addHandler(_notices)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    if thread is None:
        _notices.target = target
    elif target is None:
        _notices.threads.pop(thread, None)
    else:
        _notices.threads[thread] = target


def hide_control_echo() -> Callable[[], None]:
    """Stops the terminal from echoing ^C into an answer being drawn (ECHOCTL off on stdin's
    terminal); returns what puts it back. Nothing to do without a terminal or termios."""
    try:
        import termios
    except ImportError:
        return lambda: None
    try:
        fd = sys.stdin.fileno()
        before = termios.tcgetattr(fd)
    except (OSError, ValueError, AttributeError, termios.error):  # not a terminal
        return lambda: None
    quiet = list(before)
    quiet[3] &= ~termios.ECHOCTL
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (OSError, termios.error):
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, before)

    return restore
