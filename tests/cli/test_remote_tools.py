"""`--search`, `--remote-tool` and config.json's `remote_tools` in `ask` and `chat`, against the
emulator's guessed remote-tool replies (emulator/remote.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from raycast_ai.config import CONFIG_FILE, write_json
from raycast_ai.emulator.remote import image_url, search_texts, sources
from raycast_ai.emulator.server import EmulatorServer
from raycast_ai.protocol.request import CHAT_PATH

from .conftest import Invoke, Run

WEB = {"name": "web_search", "type": "remote_tool"}
MODEL = "openai-gpt-4o-mini"


def tag() -> str:
    return uuid.uuid4().hex[:10]


def sent_tools(emulator: EmulatorServer, nonce: str) -> list[object]:
    """The tools of the request whose last message holds `nonce` (later ones repeat it)."""
    for record in reversed(emulator.recorder.for_path(CHAT_PATH)):
        body = record.json()
        if nonce in body["messages"][-1]["content"]["text"]:
            tools: list[object] = body["tools"]
            return tools
    raise AssertionError(f"no request holds {nonce}")


def sources_lines(query: str) -> str:
    listed = [f"{n}. {s['title']} — {s['url']}" for n, s in enumerate(sources(query), 1)]
    return "Sources:\n" + "\n".join(listed) + "\n"


def test_ask_search_offers_web_search_and_prints_the_sources(
    run: Run, emulator: EmulatorServer
) -> None:
    nonce = tag()
    done = run("ask", "--search", f"news {nonce} @search")
    assert done.code == 0, done.stderr
    assert sent_tools(emulator, nonce) == [WEB]
    answer = "".join(search_texts(f"news {nonce}", MODEL, 12))
    assert done.stdout == answer + "\n\n" + sources_lines(f"news {nonce}")
    assert "tool_calls" not in done.stdout


def test_ask_json_lists_citations_and_no_stream_prints_them_too(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    nonce = tag()
    payload = json.loads(invoke("--json", "--search", f"news {nonce} @search").stdout)
    assert [c["url"] for c in payload["citations"]] == [s["url"] for s in sources(f"news {nonce}")]
    assert payload["images"] == []
    quiet = invoke("--no-stream", "--search", f"news {nonce} @search")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout.endswith("\n\n" + sources_lines(f"news {nonce}"))


def test_remote_tool_by_name_and_its_image(invoke: Invoke, emulator: EmulatorServer) -> None:
    nonce = tag()
    result = invoke(
        "--remote-tool", "gpt_image", "--remote-tool", "read_page", f"fox {nonce} @image"
    )
    assert result.exit_code == 0, result.stderr
    assert sent_tools(emulator, nonce) == [
        {"name": "gpt_image", "type": "remote_tool"},
        {"name": "read_page", "type": "remote_tool"},
    ]
    assert result.stdout.endswith(f"\n\nImages:\n- {image_url('gpt_image', f'fox {nonce}')}\n")


def test_an_unknown_remote_tool_is_one_line_and_nothing_is_sent(
    invoke: Invoke, emulator: EmulatorServer
) -> None:
    nonce = tag()
    result = invoke("--remote-tool", "web_serch", f"hi {nonce}")
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Unknown Raycast remote tool 'web_serch'. Did you mean 'web_search'?" in result.stderr
    assert not any(nonce.encode() in r.body for r in emulator.recorder.for_path(CHAT_PATH))


def test_config_default_and_no_search(invoke: Invoke, emulator: EmulatorServer, home: Path) -> None:
    write_json(home / CONFIG_FILE, {"remote_tools": ["web_search"]})
    nonce = tag()
    assert invoke(f"plain {nonce} @chunks:1").exit_code == 0
    assert sent_tools(emulator, nonce) == [WEB]
    other = tag()
    assert invoke("--no-search", f"plain {other} @chunks:1").exit_code == 0
    assert sent_tools(emulator, other) == []


def test_a_bad_config_name_says_where_it_is(invoke: Invoke, home: Path) -> None:
    write_json(home / CONFIG_FILE, {"remote_tools": ["serch"]})
    result = invoke("hello")
    assert result.exit_code != 0
    assert f"{CONFIG_FILE} 'remote_tools': Unknown Raycast remote tool 'serch'" in result.stderr


def test_chat_search_on_and_off(invoke: Invoke, emulator: EmulatorServer) -> None:
    first, second, third = tag(), tag(), tag()
    script = (
        f"one {first} @chunks:1\n/search on\ntwo {second} @search\n/search off\n"
        f"three {third} @chunks:1\n/search maybe\n"
    )
    result = invoke("chat", "--remote-tool", "read_page", input=script)
    assert result.exit_code == 0, result.stderr
    read_page = {"name": "read_page", "type": "remote_tool"}
    assert sent_tools(emulator, first) == [read_page]
    assert sent_tools(emulator, second) == [read_page, WEB]
    assert sent_tools(emulator, third) == [read_page]
    assert "Web search is on." in result.stderr
    assert "Web search is off." in result.stderr
    assert "Use /search on or /search off." in result.stderr
    assert sources_lines(f"two {second}") in result.stdout
