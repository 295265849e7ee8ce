"""The one place where the CLI turns an error into one line on stderr and an exit code.

Exit codes (also shown by `raycast-ai --help`):

    0    success
    1    any other error (a bug: rerun with --debug for the traceback)
    2    usage error: an unknown option, a missing argument
    3    invalid request or setting (InvalidRequestError), e.g. an unknown conversation id
    4    no Raycast token (MissingAuthError)
    5    token or signature rejected (AuthenticationError)
    6    access refused (PermissionDeniedError)
    7    unknown model (ModelNotFoundError)
    8    rate limited, or AI credits used up (RateLimitError)
    9    Raycast failed (UpstreamError and other API status errors)
    10   Raycast sent something that is not a Raycast stream (StreamDecodeError)
    11   the answer was cut off (IncompleteStreamError)
    12   cannot reach Raycast (APIConnectionError)
    13   Raycast did not answer in time (APITimeoutError)
    130  interrupted (Ctrl-C)

With `--json`, an error is also printed on stdout as one JSON object (`as_json`), so a script
that parses stdout always gets JSON; the line on stderr stays for people.
"""

from __future__ import annotations

from raycast_ai.protocol import errors

TYPE_CHECKING = False  # typing.TYPE_CHECKING: `--help` is printed without importing typing
if TYPE_CHECKING:
    from typing import Any

OK = 0
FAILURE = 1
USAGE = 2
INTERRUPTED = 130

# Most specific first: the first class an error is an instance of gives its code.
EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (errors.InvalidRequestError, 3, "invalid request or setting"),
    (errors.MissingAuthError, 4, "no Raycast token"),
    (errors.AuthenticationError, 5, "token or signature rejected"),
    (errors.PermissionDeniedError, 6, "access refused"),
    (errors.ModelNotFoundError, 7, "unknown model"),
    (errors.RateLimitError, 8, "rate limited, or AI credits used up"),
    (errors.StreamDecodeError, 10, "not a Raycast stream"),
    (errors.UpstreamError, 9, "Raycast failed"),
    (errors.APIStatusError, 9, "Raycast failed"),
    (errors.IncompleteStreamError, 11, "answer cut off"),
    (errors.APITimeoutError, 13, "Raycast did not answer in time"),
    (errors.APIConnectionError, 12, "cannot reach Raycast"),
)

NO_TOKEN = "No Raycast token. Run 'raycast-ai auth set' or set RAYCAST_TOKEN."
# What `pip install raycast-ai` leaves out and the command line needs (the `cli` extra).
CLI_EXTRA_MODULES = frozenset({"click", "rich", "prompt_toolkit", "starlette", "uvicorn"})


def missing_extra(error: BaseException) -> str | None:
    """The fix when `error` is a module of the `cli` extra not being installed, else None."""
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    top = error.name.partition(".")[0]
    if top not in CLI_EXTRA_MODULES:
        return None
    return f"{top} is not installed; the command line needs it: pip install 'raycast-ai[cli]'"


def as_json(error: BaseException, line: str, code: int) -> dict[str, Any]:
    """`{"error": {"type", "message", "exit_code", ...}}`: the class name, the line shown on
    stderr, the exit code, and what the error knows (HTTP status, Raycast's error type, the
    wait a rate limit asks for, the part of an answer that arrived)."""
    body: dict[str, Any] = {
        "type": "UsageError" if code == USAGE else type(error).__name__,
        "message": line,
        "exit_code": code,
    }
    for name in ("status_code", "retry_after", "model", "suggestions", "partial_text"):
        value = getattr(error, name, None)
        if value not in (None, "", ()):
            body[name] = list(value) if isinstance(value, tuple) else value
    kind = getattr(error, "type", None)
    if isinstance(kind, str) and kind:
        body["raycast_type"] = kind
    return {"error": body}


def exit_code(error: BaseException) -> int:
    for cls, code, _ in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return FAILURE


def message(error: BaseException) -> str:
    """What to tell the user, on one line, with the fix where there is one."""
    if isinstance(error, errors.MissingAuthError):
        text = NO_TOKEN
    elif isinstance(error, errors.UpstreamError) and error.type == "context_error":
        text = (
            f"The conversation is too long for this model ({_said(error)}). Start a new one "
            "(without -c, or /new in chat) or pick a model with a larger context (-m)."
        )
    elif isinstance(error, errors.RateLimitError) and error.type == "credits_error":
        text = (
            f"Your Raycast AI credits are used up ({_said(error)}). Wait for the next period, "
            "top up in Raycast, or pick a cheaper model (-m)."
        )
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def _said(error: Exception) -> str:
    said = str(error).removeprefix("Raycast AI credits are used up: ").rstrip(".")
    return f"Raycast said: {said}"


def table() -> str:
    """The exit codes as help text."""
    rows = [(OK, "success"), (FAILURE, "other error (rerun with --debug)"), (USAGE, "usage error")]
    seen = {code for code, _ in rows}
    for _, code, meaning in EXIT_CODES:
        if code not in seen:
            seen.add(code)
            rows.append((code, meaning))
    rows.sort()
    rows.append((INTERRUPTED, "interrupted (Ctrl-C)"))
    return "\n".join(f"  {code:<4} {meaning}" for code, meaning in rows)
