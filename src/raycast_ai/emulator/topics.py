"""Realistic Markdown answers for questions on a few topics, so that a terminal's rendering, code
extraction (`-x`) and the demo can be tried: headings, loose and nested lists, a table, and code
blocks in several languages, one of them inside a list item.

A question gets a topic's answer when it names one of the topic's words (whole words, any case);
every other prompt keeps the emulator's plain deterministic text (`text.answer_chunks`).
"""

from __future__ import annotations

import re

_JSON_IN_PYTHON = """\
## Reading JSON in Python

The standard library's `json` module does it; no package to install.

1. Open the file as text, in UTF-8:

    ```python
    import json
    from pathlib import Path

    data = json.loads(Path("config.json").read_text(encoding="utf-8"))
    ```

2. Work with the result, which is made of plain Python values:

   - objects become `dict`
   - arrays become `list`
     - nested arrays too
   - `null` becomes `None`

3. Write it back with `json.dumps(data, indent=2)`.

| JSON | Python |
|------|--------|
| object | dict |
| array | list |
| string | str |
| true/false | True/False |

> A file that is not valid JSON raises `json.JSONDecodeError`, which names the line and column.
"""

_SHELL = """\
## Finding large files

Use `find` with a size filter, then sort by size:

```bash
find . -type f -size +100M -print0 | xargs -0 du -h | sort -rh | head -n 20
```

- `-size +100M`: larger than 100 MiB
- `sort -rh`: human-readable sizes, largest first

On macOS, `du -sh * | sort -rh` answers the same for the current folder.
"""

_COMPARE = """\
## Python, JavaScript and Rust compared

| | Python | JavaScript | Rust |
|---|---|---|---|
| Typing | dynamic, optional hints | dynamic (TypeScript adds types) | static |
| Memory | garbage collected | garbage collected | ownership, no GC |
| Best at | scripts, data, glue | the browser, UIs | systems, speed |

The same function in each:

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

```javascript
const greet = (name) => `Hello, ${name}!`;
```

```rust
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}
```
"""

_SQL = """\
## Counting orders per customer

```sql
SELECT customer_id, COUNT(*) AS orders
FROM orders
WHERE created_at >= DATE '2026-01-01'
GROUP BY customer_id
ORDER BY orders DESC
LIMIT 5;
```

| customer_id | orders |
|---|---|
| 42 | 17 |
| 7 | 12 |

Add an index on `orders (created_at, customer_id)` if this runs often.
"""

_CAPABILITIES = """\
## What raycast-ai does

raycast-ai puts the Raycast AI subscription you already pay for to work outside the launcher:

- **In the terminal**: `raycast-ai "question"` answers at once, `raycast-ai chat` keeps a
  conversation, and every exchange lands in a searchable log.
- **Behind your tools**: `raycast-ai serve` speaks three APIs:
  - OpenAI chat completions and Responses (the openai SDK, Codex CLI)
  - Anthropic Messages (the anthropic SDK, Claude Code)
- **In your shell's pipes**: text piped in comes first, then the question:

    ```bash
    git diff | raycast-ai "write a commit message for this"
    ```

Every model of your plan is there: `raycast-ai models` lists them.
"""

_TOPICS = (
    (("json",), _JSON_IN_PYTHON),
    (("bash", "shell"), _SHELL),
    (("compare", "comparison", "versus", "vs", "rust", "javascript"), _COMPARE),
    (("sql",), _SQL),
    (("raycast-ai",), _CAPABILITIES),
    (("python",), _JSON_IN_PYTHON),
)
_WORDS = re.compile(r"[\w-]+")


def topic_answer(prompt: str) -> str | None:
    """The Markdown answer for a question on one of the topics, if it is one (a question: it
    ends with "?" or starts with how/what/show/write/compare)."""
    stripped = prompt.strip().lower()
    if not (stripped.endswith("?") or stripped.startswith(("how", "what", "show", "write"))):
        return None
    words = set(_WORDS.findall(stripped))
    for keys, answer in _TOPICS:
        if words.intersection(keys):
            return answer
    return None


def split(text: str, n: int) -> list[str]:
    """`text` in `n` pieces (at least one), cut at spaces where it can be, joined back exactly."""
    n = max(n, 1)
    size = max(len(text) // n, 1)
    pieces: list[str] = []
    start = 0
    for _ in range(n - 1):
        end = min(start + size, len(text))
        space = text.find(" ", end)
        end = space + 1 if 0 < space < end + size else end
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return [piece for piece in pieces if piece] or [text]
