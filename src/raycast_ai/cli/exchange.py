"""One conversation as `ask` and `chat` hold it: its id (sent as Raycast's thread_id), the
messages so far, and the log each exchange is written to while it streams.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from raycast_ai.history import (
    LOG_FILE,
    DamagedLogError,
    History,
    damaged,
    is_damage,
    new_conversation_id,
    to_messages,
)
from raycast_ai.protocol.completion import Collector
from raycast_ai.protocol.events import Citation, ImageLink, Notice, ReasoningDelta, TextDelta, Usage

from . import runtime
from .attach import logged

if TYPE_CHECKING:
    from raycast_ai.attachments import Attachment
    from raycast_ai.client import ChatStream, RaycastClient

    from .inflight import InFlight
    from .output import Output

CHECKPOINT_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    reasoning: str
    model: str
    usage: Usage | None
    finish_reason: str
    conversation_id: str
    citations: tuple[Citation, ...] = ()
    images: tuple[ImageLink, ...] = ()

    def to_json(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "text": self.text,
            "reasoning": self.reasoning,
            "model": self.model,
            "usage": None
            if usage is None
            else {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "reasoning_tokens": usage.reasoning_tokens,
            },
            "finish_reason": self.finish_reason,
            "conversation_id": self.conversation_id,
            "citations": [{"title": c.title, "url": c.url} for c in self.citations],
            "images": [i.url for i in self.images],
        }


@dataclass(frozen=True, slots=True)
class Sent:
    """A question `Session.send` sent: what it was, and its answer on the way."""

    prompt: str
    attachments: tuple[Attachment, ...]
    content: str | list[dict[str, Any]]  # the user message's, as the conversation keeps it
    flight: InFlight


@dataclass
class Session:
    """A conversation in progress; `log` None keeps it out of the log."""

    client: RaycastClient
    log: History | None = None
    model: str | None = None
    system: str | None = None
    id: str = field(default_factory=new_conversation_id)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _logged: bool = False
    _last: tuple[str, list[Attachment]] | None = None  # the last question, for /retry
    # Files attached (`/attach` in chat) for the next question.
    pending: list[Attachment] = field(default_factory=list)
    # Raycast's own tools offered with each question (web_search, ...).
    remote_tools: tuple[str, ...] = ()

    def new(self) -> None:
        self.id, self.messages, self._logged = new_conversation_id(), [], False
        self._last = None

    def retry(self) -> tuple[str, list[Attachment]] | None:
        """The last question and its files, its answer taken out of the conversation to be
        asked again."""
        if self._last is not None and self.messages[-2:-1] == [_user(*self._last)]:
            del self.messages[-2:]
        return self._last

    def last_answer(self) -> str | None:
        last = self.messages[-1] if self.messages else None
        return last["content"] if last and last["role"] == "assistant" else None

    def markdown(self) -> str:
        """The conversation as a Markdown document."""
        parts = [f"# Conversation {self.id}\n\nModel: {self.model}\n"]
        if self.system:
            parts.append(f"## System\n\n{self.system}\n")
        for message in self.messages:
            who = "You" if message["role"] == "user" else "Answer"
            content = message["content"]
            if not isinstance(content, str):
                content = "\n\n".join(
                    p["text"] if p["type"] == "text" else f"[attached: {p['attachment'].filename}]"
                    for p in content
                )
            parts.append(f"## {who}\n\n{content.rstrip()}\n")
        return "\n".join(parts)

    def send(
        self,
        prompt: str,
        *,
        temperature: float | None = None,
        reasoning_effort: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Sent:
        """Sends `prompt` at once, on a thread of its own (`InFlight`); `ask` shows the answer.
        Nothing here raises: the request's errors come from `ask`."""
        from .inflight import InFlight
        from .output import shows

        system = [{"role": "system", "content": self.system}] if self.system else []
        self._last = (prompt, list(attachments))
        user = _user(prompt, attachments)
        messages = [*system, *self.messages, user]
        model, thread, remote = self.model, self.id, self.remote_tools

        def open() -> ChatStream:
            if reasoning_effort is not None:
                self._check_reasoning(model)
            return self.client.stream(
                messages,
                model,
                temperature=temperature,
                reasoning_effort=reasoning_effort,
                thread_id=thread,
                remote_tools=remote,
            )

        return Sent(prompt, tuple(attachments), user["content"], InFlight(open, shows))

    def ask(
        self,
        prompt: str | Sent,
        output: Output,
        *,
        temperature: float | None = None,
        reasoning_effort: str | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Answer:
        """Streams one answer into `output` (closed at the end, whatever happens); `prompt` is
        a question, or one `send` started (its options were given there).

        The files go with the prompt and stay in the conversation, so later questions still
        see them (the client uploads the same content once in a while). The log's entry is
        written once the first event is shown, so it costs the first token nothing."""
        from .output import shows

        sent = (
            prompt
            if isinstance(prompt, Sent)
            else self.send(
                prompt,
                temperature=temperature,
                reasoning_effort=reasoning_effort,
                attachments=attachments,
            )
        )
        flight = sent.flight
        collector = Collector()
        exchange: int | None = None
        logged = False
        flight.listen(output.announce)
        output.wait()
        try:
            try:
                saved = time.monotonic()
                for event in flight.events(output.spin):
                    collector.add(event)
                    # Saved before it is shown, so a crash loses at most one interval.
                    if exchange is not None and time.monotonic() - saved >= CHECKPOINT_SECONDS:
                        self._save(exchange, collector)
                        saved = time.monotonic()
                    if isinstance(event, TextDelta):
                        output.text(event.text)
                    elif isinstance(event, ReasoningDelta):
                        output.reasoning(event.text)
                    elif isinstance(event, Notice):
                        output.notice(event.kind, event.message)
                    if not logged and shows(event):
                        logged = True
                        exchange = self._start(sent, flight.model or "")
                        saved = time.monotonic()
                model = flight.model or ""
                done = collector.result(model)
                output.remote(done.citations, done.images)
            finally:
                flight.listen(None)
                flight.close()
        except BaseException as exc:
            if not logged and flight.model is not None:  # the request was made
                exchange = self._start(sent, flight.model)
            if exchange is not None:
                self._finish(exchange, collector, flight.model or "", error=describe(exc))
            self._remember(sent.content, collector.text)
            raise
        finally:
            output.close()
        if not logged:
            exchange = self._start(sent, model)
        if exchange is not None:
            self._finish(exchange, collector, model)
        self._remember(sent.content, done.text)
        return Answer(
            done.text,
            done.reasoning,
            model,
            done.usage,
            done.finish_reason,
            self.id,
            done.citations,
            done.images,
        )

    def _check_reasoning(self, model: str | None) -> None:
        from raycast_ai.protocol.errors import InvalidRequestError

        catalog = self.client.models()
        entry = catalog.resolve(model, runtime.prefs().aliases)
        if not entry.reasoning_efforts:
            reasoning = [e.id for e in catalog.models if e.reasoning_efforts]
            raise InvalidRequestError(
                f"{entry.id} does not reason, so it takes no reasoning effort; models that do: "
                f"{', '.join(reasoning) or 'none'}."
            )

    def _remember(self, prompt: str | list[dict[str, Any]], text: str) -> None:
        # The same rule as a continuation from the log: an answer with no text is left out.
        if text:
            self.messages += [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": text},
            ]

    # The log must not cost the answer: a failing write is reported once and logging stops.

    def _start(self, sent: Sent, model: str) -> int | None:
        if self.log is None:
            return None
        try:
            if not self._logged:
                self.log.create(model, self.id)
                self._logged = True
            return self.log.start(
                self.id, sent.prompt, self.system, model, logged(sent.attachments)
            )
        except sqlite3.Error as exc:
            self._log_failed(exc)
            return None

    def _save(self, exchange: int, collector: Collector) -> None:
        if self.log is None:
            return
        done = collector.result("")
        try:
            self.log.save(exchange, done.text, done.reasoning)
        except sqlite3.Error as exc:
            self._log_failed(exc)

    def _finish(
        self, exchange: int, collector: Collector, model: str, error: str | None = None
    ) -> None:
        if self.log is None:
            return
        done = collector.result(model)
        usage = done.usage
        try:
            self.log.finish(
                exchange,
                done.text,
                done.reasoning,
                input_tokens=usage.input_tokens if usage else None,
                output_tokens=usage.output_tokens if usage else None,
                finish_reason=done.finish_reason or None,
                error=error,
            )
        except sqlite3.Error as exc:
            self._log_failed(exc)

    def _log_failed(self, exc: sqlite3.Error) -> None:
        assert self.log is not None
        if is_damage(exc):
            runtime.err(f"warning: {damaged(self.log.path, exc).message} Logging is off.")
        else:
            runtime.err(
                f"warning: could not write the conversation log {self.log.path} ({exc}); "
                "logging is off."
            )
        self.log = None


def _user(prompt: str, attachments: Sequence[Attachment]) -> dict[str, Any]:
    """The user message: the prompt, and its files as attachment parts."""
    if not attachments:
        return {"role": "user", "content": prompt}
    return {
        "role": "user",
        "content": [{"type": "text", "text": prompt}, *(a.part() for a in attachments)],
    }


def describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit):
        return f"terminated (exit {exc.code})"
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def terminate_gracefully() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) unwind like Ctrl-C, so the log keeps the partial
    answer; outside the main thread (where handlers cannot be set) nothing changes."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous: dict[int, Any] = {}
    try:
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, stop)
    except ValueError:
        pass
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def open_session(
    client: RaycastClient,
    *,
    resume: bool = False,
    cid: str | None = None,
    model: str | None = None,
    system: str | None = None,
    log: bool = True,
) -> Iterator[Session]:
    """A new conversation, or with `resume` (the latest) or `cid` a logged one continued.

    The model is `model`, else the continued conversation's, else the stored default. No
    token fails here, before the log is opened or any request (the models list) is made.
    """
    from raycast_ai.protocol.errors import InvalidRequestError

    runtime.require_token()
    continuing = resume or bool(cid)
    history: History | None = None
    if log or continuing:
        try:
            history = runtime.open_history()
        except DamagedLogError as exc:
            if continuing:
                raise
            runtime.err(f"warning: {exc.message} Not logging this exchange.")
        except (sqlite3.Error, OSError) as exc:
            where = runtime.home() / LOG_FILE
            if continuing:
                raise InvalidRequestError(
                    f"Cannot open the conversation log {where}: {exc}"
                ) from None
            runtime.err(f"warning: cannot open the conversation log {where} ({exc}); not logging.")
    try:
        default = runtime.prefs().default_model
        if history is not None and continuing:
            try:
                found = history.conversation(cid) if cid else history.latest()
            except LookupError as exc:
                raise InvalidRequestError(str(exc)) from None
            if found is None:
                raise InvalidRequestError(
                    f"No logged conversation has the id '{cid}'. Run 'raycast-ai logs' to see "
                    "the ids."
                    if cid
                    else "There is no logged conversation to continue yet."
                )
            earlier = history.exchanges(found.id)
            last = earlier[-1] if earlier else None
            yield Session(
                client,
                history if log else None,
                model or (last.model if last else found.model),
                system if system is not None or last is None else last.system,
                found.id,
                to_messages(earlier),
                _logged=True,
            )
        else:
            yield Session(client, history if log else None, model or default, system)
    finally:
        if history is not None:
            history.close()
