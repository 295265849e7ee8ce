"""What the commands share: the stored preferences (config.json), the client, the log.

Heavy modules (the client and httpx2) are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from raycast_ai.config import CONFIG_FILE, data_dir, read_json, update_json

if TYPE_CHECKING:
    from raycast_ai.client import RaycastClient
    from raycast_ai.history import History


@dataclass(frozen=True, slots=True)
class Prefs:
    """config.json: the default model, the aliases, whether the log is on, the hosts the
    gateway fetches attachments from, and the Raycast remote tools that `ask` and `chat` offer
    by default (`"remote_tools": ["web_search"]`)."""

    default_model: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    log: bool = True
    attachment_hosts: tuple[str, ...] = ()
    remote_tools: tuple[str, ...] = ()


def home() -> Path:
    return data_dir()


def config_path() -> Path:
    return home() / CONFIG_FILE


def prefs() -> Prefs:
    stored = read_json(config_path())
    default = stored.get("default_model")
    aliases = stored.get("aliases")
    hosts = stored.get("attachment_hosts")
    remote = stored.get("remote_tools")
    return Prefs(
        default_model=default if isinstance(default, str) and default else None,
        aliases=(
            {str(k): str(v) for k, v in aliases.items()} if isinstance(aliases, Mapping) else {}
        ),
        log=stored.get("log") is not False,
        attachment_hosts=tuple(str(h) for h in hosts if h) if isinstance(hosts, list) else (),
        remote_tools=tuple(map(str, remote)) if isinstance(remote, list) else (),
    )


def remote_tools(search: bool | None, names: Sequence[str]) -> tuple[str, ...]:
    """The remote tools to offer: config.json's, with web search added (`search` True) or
    taken out (False), and `names`; an unknown name is an error that says where it came from."""
    from raycast_ai.protocol.errors import InvalidRequestError
    from raycast_ai.protocol.remote import WEB_SEARCH, remote_tool_names

    stored = prefs().remote_tools
    try:
        remote_tool_names(stored)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"{config_path()} 'remote_tools': {exc}") from None
    chosen = [n for n in stored if not (search is False and n == WEB_SEARCH)]
    if search:
        chosen.append(WEB_SEARCH)
    return remote_tool_names([*chosen, *names])


def set_prefs(**changes: Any) -> None:
    """Stores preferences; a None value removes the key."""
    update_json(config_path(), **changes)


def make_client(*, timeout: float | None = None, max_retries: int | None = None) -> RaycastClient:
    """The client every command uses; tests replace this function to script answers."""
    from raycast_ai.client import RaycastClient, Timeout

    options: dict[str, Any] = {"aliases": prefs().aliases}
    if timeout is not None:
        # The silence it names is the longest wait: no retry starts after it.
        options["timeout"] = Timeout(connect=min(timeout, 10.0), read=timeout)
        options["retry_budget"] = timeout
    if max_retries is not None:
        options["max_retries"] = max_retries
    return RaycastClient(**options)


def require_token() -> None:
    """MissingAuthError (exit 4, with how to sign in) unless a token is configured."""
    from raycast_ai.config import load_settings
    from raycast_ai.protocol.errors import MissingAuthError

    if not load_settings().token:
        raise MissingAuthError()


def open_history() -> History:
    from raycast_ai.history import History

    return History.open(home())


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def read_stdin() -> str:
    """Piped input, whole; nothing when stdin is a terminal."""
    if stdin_is_tty():
        return ""
    data = sys.stdin.buffer.read()
    return data.decode("utf-8", "replace")


def no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def err(text: str = "", *, dim: bool = False, nl: bool = True) -> None:
    """A line on stderr; dimmed when stderr is a terminal."""
    stream = sys.stderr
    if dim and stream.isatty() and not no_color():
        text = click.style(text, dim=True)
    click.echo(text, file=stream, nl=nl)
    if not nl:
        stream.flush()


def fail_if_no_input(text: str) -> None:
    if not text.strip():
        raise click.UsageError(
            'Nothing to ask: give a prompt (raycast-ai "what is a monad?") or pipe text in.'
        )
