"""The table of commands and the text of `raycast-ai --help`, free of click.

Importing click takes longer than starting Python, so `raycast-ai --help` prints `root_help()`
without it; the click group in `app` is built from the same texts, and a test checks that both
print the same page.
"""

from __future__ import annotations

from .errors import table

# name: short help. Each command lives in the module of its name (`raycast_ai.cli.<name>`),
# unless MODULES says otherwise.
COMMANDS = {
    "ask": "Ask one question and stream the answer.",
    "chat": "Chat with a model in the terminal.",
    "models": "List the models, or set the default one.",
    "aliases": "Short names for models.",
    "logs": "Show, search or switch off the conversation log.",
    "auth": "Sign in, set, show or remove the Raycast credentials.",
    "credits": "Show what is left of the month's AI credits.",
    "serve": "Run the OpenAI-compatible gateway.",
    "emulate": "Run the local Raycast backend emulator.",
    "demo": "Answer one question through a local emulator, no account needed.",
    "launch": "Run Claude Code or Codex CLI on Raycast AI.",
    "commands": "Import and list AI Commands exported from Raycast.",
    "run": "Run an imported AI Command.",
    "roles": "Saved system prompts for ask and chat.",
    "completion": "Print the shell completion script (bash, zsh, fish).",
}
# Commands whose module is not named after them (`commands` is this module).
MODULES = {"commands": "aicommands"}
USAGE = "Usage: raycast-ai [OPTIONS] COMMAND [ARGS]..."
DEBUG_HELP = "Show tracebacks and the client's log on stderr."
VERSION_HELP = "Show the version and exit."
HELP_HELP = "Show this message and exit."
OPTIONS = (("--debug", DEBUG_HELP), ("--version", VERSION_HELP), ("-h, --help", HELP_HELP))

DESCRIPTION = """\
Raycast AI from the terminal: ask, chat, and an OpenAI-compatible gateway.

\b
Credentials come from flags, then the environment (RAYCAST_TOKEN,
RAYCAST_SIGNING_SECRET, RAYCAST_DEVICE_ID, RAYCAST_BASE_URL), then the file
that 'raycast-ai auth set' writes. RAYCAST_AI_HOME moves the data folder.
"""

_EXAMPLES = """\
\b
Examples:
  raycast-ai demo                   try it against a local emulator
  raycast-ai auth set               store your token and signing secret
  raycast-ai "what is a monad?"     ask (the same as: raycast-ai ask ...)
  git diff | raycast-ai "write a commit message"
  raycast-ai -c "and then?"         continue the last conversation
  raycast-ai chat                   a conversation in the terminal
"""


def epilog() -> str:
    return f"{_EXAMPLES}\n\b\nExit codes:\n{table()}\n"


WIDTH = 78  # click's help width on a terminal of 80 columns or more


def root_help() -> str | None:
    """The page click prints for `raycast-ai --help` on a terminal 80 columns wide or more;
    None when a text would need wrapping, which only click does."""
    out: list[str | None] = [USAGE, ""]
    for block in (_text(DESCRIPTION), ["Options:", *_rows(OPTIONS)]):
        out += [*block, ""]
    out += ["Commands:", *_rows(tuple(COMMANDS.items())), ""]
    out += _text(epilog())
    if any(line is None for line in out):
        return None
    return "\n".join(str(line) for line in out) + "\n"


def _text(text: str) -> list[str | None]:
    """Paragraphs indented by two: "\\b" ones kept as written, others if one line wide."""
    lines: list[str | None] = []
    for paragraph in text.strip("\n").split("\n\n"):
        rows = paragraph.split("\n")
        if rows[0] == "\b":
            lines += [f"  {row}".rstrip() for row in rows[1:]]
        else:
            joined = " ".join(row.strip() for row in rows)
            lines.append(f"  {joined}" if len(joined) + 2 <= WIDTH else None)
        lines.append("")
    return lines[:-1]


def _rows(rows: tuple[tuple[str, str], ...]) -> list[str | None]:
    first = max(len(name) for name, _ in rows) + 2
    fits = WIDTH - first - 2
    return [f"  {name:<{first}}{text}" if len(text) <= fits else None for name, text in rows]
