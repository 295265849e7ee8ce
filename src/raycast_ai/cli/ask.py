"""`raycast-ai ask`, also what `raycast-ai "PROMPT"` runs."""

from __future__ import annotations

import json

import click

from . import include, runtime, saved
from .completion import complete_model


@click.command()
@click.argument("prompt", nargs=-1)
@click.option(
    "-m",
    "--model",
    shell_complete=complete_model,
    help="Catalog id, model name or alias (default: 'raycast-ai models default').",
)
@click.option("-s", "--system", help="A system prompt.")
@click.option("--role", metavar="NAME", help="A saved system prompt ('raycast-ai roles').")
@click.option(
    "-f",
    "--file",
    "files",
    multiple=True,
    metavar="FILE",
    help="Put this text file into the prompt, fenced with its name (repeatable, 1 MB each).",
)
@click.option(
    "-a",
    "--attach",
    "attach",
    multiple=True,
    metavar="FILE",
    help="Send FILE with the question: an image (for models with vision), a PDF, code, text "
    "(repeatable; '-' reads it from stdin; at most 20 MB each).",
)
@click.option(
    "-c", "--continue", "resume", is_flag=True, help="Continue the latest logged conversation."
)
@click.option("--cid", metavar="ID", help="Continue the logged conversation with this id (prefix).")
@click.option("--no-stream", is_flag=True, help="Print the answer only when it is complete.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object: text, reasoning, model, usage, finish_reason, conversation_id, "
    "citations, images.",
)
@click.option(
    "-x",
    "--extract",
    is_flag=True,
    help="Print only the first fenced code block (the whole answer when there is none).",
)
@click.option(
    "-r",
    "--reasoning",
    "effort",
    metavar="EFFORT",
    help="Reasoning effort, for models that reason: low, medium or high (what 'raycast-ai "
    "models' lists for the model).",
)
@click.option(
    "--show-reasoning/--hide-reasoning",
    "reasoning",
    default=None,
    help="Show the model's thinking (default: dimmed on a terminal; on stderr when piped, "
    "only with --show-reasoning).",
)
@click.option("--temperature", type=click.FloatRange(0, 2), help="Sampling temperature, 0 to 2.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="Longest silence to wait for, before and during the answer (default 60).",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    metavar="N",
    help="Retries after a rate limit or a server error before the answer starts (default 2).",
)
@click.option(
    "--search/--no-search",
    default=None,
    help="Let Raycast search the web (its web_search remote tool); sources are listed after "
    "the answer. Default: on when config.json's remote_tools has web_search.",
)
@click.option(
    "--remote-tool",
    "remote_tool",
    multiple=True,
    metavar="NAME",
    help="Offer another Raycast remote tool: search_images, read_page, gpt_image, dalle, "
    "gemini_image, nano_banana, flux, flux-kontext, stable_diffusion, chart (repeatable).",
)
@click.option("--no-log", is_flag=True, help="Do not write this exchange to the log.")
@click.option("--no-md", is_flag=True, help="Print raw text even on a terminal.")
def ask(
    prompt: tuple[str, ...],
    model: str | None,
    system: str | None,
    attach: tuple[str, ...],
    role: str | None,
    files: tuple[str, ...],
    resume: bool,
    cid: str | None,
    no_stream: bool,
    as_json: bool,
    extract: bool,
    effort: str | None,
    reasoning: bool | None,
    temperature: float | None,
    timeout: float | None,
    retries: int | None,
    search: bool | None,
    remote_tool: tuple[str, ...],
    no_log: bool,
    no_md: bool,
) -> None:
    """Ask one question and stream the answer.

    Text piped in comes first, then the PROMPT words after a blank line:

    \b
        git diff | raycast-ai "write a commit message"
        raycast-ai -m anthropic-claude-sonnet-4 -x "a bash one-liner to count lines of *.py"
        raycast-ai -a screenshot.png "what does this error mean?"
        pdftoppm -png -r 50 -singlefile a.pdf | raycast-ai -a - "describe the page"

    --search lets Raycast search the web first (sources follow the answer).

    Every exchange is logged ('raycast-ai logs') unless --no-log or 'raycast-ai logs off'.
    """
    if as_json and extract:
        raise click.UsageError("Use --json or --extract, not both.")
    from .attach import STDIN, load_all

    attached = load_all(attach)  # before any request: a missing file is a usage error
    piped = "" if STDIN in attach else runtime.read_stdin()
    system = saved.system_prompt(role, system)
    text = combine(include.fenced(files), combine(piped, " ".join(prompt)))
    runtime.fail_if_no_input(text)
    remote = runtime.remote_tools(search, remote_tool)
    from .exchange import open_session, terminate_gracefully
    from .output import make_output

    quiet = as_json or no_stream
    output = make_output(markdown=not no_md, extract=extract, quiet=quiet, reasoning=reasoning)
    with (
        runtime.make_client(timeout=timeout, max_retries=retries) as client,
        open_session(
            client,
            resume=resume,
            cid=cid,
            model=model,
            system=system,
            log=runtime.prefs().log and not no_log,
        ) as session,
        terminate_gracefully(),
    ):
        session.remote_tools = remote
        answer = session.ask(
            text, output, temperature=temperature, reasoning_effort=effort, attachments=attached
        )
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
    elif no_stream:
        whole = make_output(markdown=not no_md, extract=extract, quiet=False, reasoning=reasoning)
        try:
            whole.reasoning(answer.reasoning)
            whole.text(answer.text)
            whole.remote(answer.citations, answer.images)
        finally:
            whole.close()


def combine(piped: str, prompt: str) -> str:
    """Piped text first, then the prompt, a blank line between them."""
    piped = piped.rstrip("\n")
    if piped and prompt:
        return f"{piped}\n\n{prompt}"
    return piped or prompt
