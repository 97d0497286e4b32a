"""The system prompt: what the model needs to know to act as a code interpreter in this folder."""

from __future__ import annotations

import os

MAX_LISTED_FILES = 40


def describe_folder(workdir: str | None) -> str:
    """A short listing of the working folder (names and sizes), so the model knows what data there is."""
    if not workdir or not os.path.isdir(workdir):
        return "(unknown)"
    try:
        names = sorted(n for n in os.listdir(workdir) if not n.startswith("."))
    except OSError:
        return "(not readable)"
    if not names:
        return "(empty)"
    lines = []
    for name in names[:MAX_LISTED_FILES]:
        path = os.path.join(workdir, name)
        if os.path.isdir(path):
            lines.append(f"- {name}/")
        else:
            try:
                lines.append(f"- {name} ({os.path.getsize(path):,} bytes)")
            except OSError:
                lines.append(f"- {name}")
    if len(names) > MAX_LISTED_FILES:
        lines.append(f"- … and {len(names) - MAX_LISTED_FILES} more")
    return "\n".join(lines)


def system_prompt(*, workdir: str | None, max_output_chars: int, markdown_mode: bool, extra: str = "") -> str:
    if markdown_mode:
        how = (
            "To run code, reply with exactly one fenced block starting with ```python; it runs in a stateful "
            "Jupyter kernel (IPython) and its output comes back to you in the next message. Put no other code "
            "block in that reply."
        )
    else:
        how = (
            "To run code, call the `python` tool: it executes in a stateful Jupyter kernel (IPython) and returns "
            "stdout, stderr, the last expression's value, displayed outputs and any error with its traceback."
        )
    prompt = f"""You are Code Interpreter, a data analysis assistant working inside the user's Jupyter notebook.
{how}
Variables, imports and files persist between executions, and the user can see and re-run every cell you run.

Working directory: {workdir or "(the kernel's current directory)"}
Files there:
{describe_folder(workdir)}

Guidelines:
- Work step by step: run small pieces of code, look at the result, then continue.
- Print or display what you need to see; outputs longer than {max_output_chars} characters are truncated.
- Plots (e.g. matplotlib) are displayed to the user automatically.
- If code fails, read the error, fix the code and try again.
- When you are done, reply with the final answer in Markdown without running more code."""
    if extra:
        prompt += "\n\n" + extra
    return prompt
