"""The conversation log (raycast_ai.history): private file, checkpoints, lookups, search."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from raycast_ai.history import (
    LOG_FILE,
    AmbiguousConversationError,
    DamagedLogError,
    History,
    check,
    move_aside,
    new_conversation_id,
    to_messages,
)
from raycast_ai.protocol.errors import InvalidRequestError


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History.open(tmp_path / "data") as log:
        yield log


def test_the_file_and_its_folder_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with History.open(tmp_path / "data") as log:
            exchange = log.start(log.create("m").id, "p", None, "m")
            log.save(exchange, "partial")
            for path in (tmp_path / "data").iterdir():  # the WAL files too
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert (tmp_path / "data" / LOG_FILE).exists()


def test_an_exchange_is_written_before_and_while_it_streams(
    history: History, tmp_path: Path
) -> None:
    conversation = history.create("openai-gpt-4o")
    exchange = history.start(conversation.id, "question", "be brief", "openai-gpt-4o")
    # Another connection (another process) sees each step at once.
    with History.open(tmp_path / "data") as reader:
        [row] = reader.recent()
        assert (row.prompt, row.response, row.status) == ("question", "", "unfinished")
        history.save(exchange, "half an ans", "thinking")
        assert reader.recent()[0].response == "half an ans"
        history.finish(
            exchange,
            "half an answer",
            "thinking",
            input_tokens=3,
            output_tokens=4,
            finish_reason="stop",
        )
        [row] = reader.recent()
    assert row.status == "complete"
    assert (row.response, row.reasoning, row.system) == ("half an answer", "thinking", "be brief")
    assert (row.input_tokens, row.output_tokens, row.finish_reason) == (3, 4, "stop")
    assert row.finished is not None
    assert row.started <= row.finished


def test_an_error_is_kept_with_the_partial_text(history: History) -> None:
    exchange = history.start(history.create("m").id, "q", None, "m")
    history.finish(exchange, "partial", error="interrupted")
    [row] = history.recent()
    assert (row.status, row.error, row.response) == ("error", "interrupted", "partial")
    assert row.to_dict()["status"] == "error"


def test_conversations_by_id_prefix_in_any_case(history: History) -> None:
    one = history.create("m", "ABCD0000-0000-0000-0000-000000000001")
    history.create("m", "ABCD0000-0000-0000-0000-000000000002")
    history.create("m", "EF000000-0000-0000-0000-000000000003")
    assert history.conversation(one.id) == one
    assert history.conversation("abcd0000-0000-0000-0000-000000000001") == one
    assert history.conversation("ef") is not None
    assert history.conversation("99") is None
    assert history.conversation("") is None
    with pytest.raises(AmbiguousConversationError):
        history.conversation("abcd")
    assert history.conversation("%") is None  # LIKE wildcards are literal


def test_latest_is_the_conversation_of_the_last_exchange(history: History) -> None:
    older = history.create("m")
    newer = history.create("m")
    history.start(older.id, "late reply in the older one", None, "m")
    assert history.latest() == older
    history.start(newer.id, "now the newer", None, "m")
    assert history.latest() == newer


def test_recent_filters_searches_and_keeps_order(history: History) -> None:
    a, b = history.create("m"), history.create("m")
    for conversation, prompt, answer in [
        (a, "first", "alpha 100%"),
        (b, "second", "beta"),
        (a, "third", "gamma_x"),
    ]:
        history.finish(history.start(conversation.id, prompt, None, "m"), answer)
    assert [r.prompt for r in history.recent(2)] == ["second", "third"]
    assert [r.prompt for r in history.recent(None, conversation_id=a.id)] == ["first", "third"]
    assert [r.prompt for r in history.recent(None, query="ALPHA")] == ["first"]
    assert [r.prompt for r in history.recent(None, query="gamma_x")] == ["third"]
    assert history.count() == 3


def search(history: History, query: str) -> list[str]:
    return [r.prompt for r in history.recent(None, query=query)]


def test_search_is_full_text_in_fts5_syntax(history: History) -> None:
    conversation = history.create("m")
    for prompt, answer in [
        ("what is a monad?", "A monoid in the category of endofunctors."),
        ("exit codes", "The exit code 2 means a usage error."),
        ("café", "Un café crème, s'il vous plaît."),
        ("regex", "Use ^a.*b$ to match."),
    ]:
        history.finish(history.start(conversation.id, prompt, None, "m"), answer)
    assert search(history, "monad") == ["what is a monad?"]
    assert search(history, "MONOID endofunctors") == ["what is a monad?"]  # words, any order
    assert search(history, "endo*") == ["what is a monad?"]  # a prefix
    assert search(history, "monad OR cafe") == ["what is a monad?", "café"]  # any accent
    assert search(history, '"exit code 2"') == ["exit codes"]  # a phrase
    assert search(history, '"code exit"') == []
    assert search(history, "exit NOT usage") == []
    assert search(history, "prompt:exit") == ["exit codes"]
    assert search(history, "response:monad") == []
    assert search(history, "mona") == []  # whole words, not substrings
    # A regular expression is not the syntax: it fails with how to write one.
    with pytest.raises(InvalidRequestError, match="FTS5 syntax"):
        history.recent(None, query="^a.*b$")


def test_search_follows_checkpoints_and_finish(history: History) -> None:
    conversation = history.create("m")
    exchange = history.start(conversation.id, "question", None, "m")
    history.save(exchange, "half an answer about zebras")
    assert search(history, "zebras") == ["question"]
    history.finish(exchange, "a whole answer about giraffes")
    assert search(history, "zebras") == []
    assert search(history, "giraffes") == ["question"]


def test_a_log_from_before_search_is_indexed_on_opening(tmp_path: Path) -> None:
    path = tmp_path / LOG_FILE
    with History(path) as history:
        history.finish(history.start(history.create("m", "C1").id, "kept", None, "m"), "otters")
    old = sqlite3.connect(path)  # as a log written before the search index existed
    old.executescript(
        "DROP TRIGGER exchanges_search_insert; DROP TRIGGER exchanges_search_delete; "
        "DROP TRIGGER exchanges_search_update; DROP TABLE exchanges_search; "
        "INSERT INTO exchanges (conversation_id, prompt, response, model, started) "
        "VALUES ('C1', 'old question', 'an old answer about beavers', 'm', 'x');"
    )
    old.close()
    with History(path) as history:
        assert search(history, "otters") == ["kept"]
        assert search(history, "beavers") == ["old question"]
        history.finish(history.start("C1", "new question", None, "m"), "badgers")
        assert search(history, "badgers") == ["new question"]


def test_a_damaged_log_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / LOG_FILE
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DamagedLogError) as caught:
        History(path)
    assert str(path) in caught.value.message
    assert "raycast-ai logs repair" in caught.value.message
    assert path.read_bytes() == b"this is not a database" * 100  # untouched
    assert check(path) is not None
    kept = move_aside(path)
    assert kept.name.startswith(f"{LOG_FILE}.corrupt-")
    assert kept.read_bytes() == b"this is not a database" * 100
    assert not path.exists()


def test_messages_skip_exchanges_that_produced_nothing(history: History) -> None:
    conversation = history.create("m")
    for prompt, answer in [("q1", "a1"), ("failed", ""), ("q2", "partial a2")]:
        history.finish(history.start(conversation.id, prompt, None, "m"), answer)
    assert history.messages(conversation.id) == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "partial a2"},
    ]
    assert to_messages([]) == []


def test_conversation_ids_are_uppercase_uuids() -> None:
    cid = new_conversation_id()
    assert cid == cid.upper()
    assert len(cid) == 36
    assert cid.count("-") == 4


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    with History.open(tmp_path) as log:
        log.finish(log.start(log.create("m").id, "kept", None, "m"), "yes")
    with History.open(tmp_path) as log:
        assert [r.prompt for r in log.recent()] == ["kept"]
