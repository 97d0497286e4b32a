"""Writing a run into a notebook: a markdown prompt, one code cell per executed step, a markdown answer.

Driven by events, and idempotent: each cell carries ``metadata.codeinterp = {run_id, step, role}``, so applying
an event twice (a replay, a second writer) updates the cell instead of adding another. The labextension's
``notebookWriter.ts`` follows the same rules in the browser.

The cells carry no ``trusted`` flag and the file is never signed: the outputs of model-written code open untrusted,
sanitised by JupyterLab (docs/security.md).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import nbformat
from nbformat import NotebookNode

#: Steps with these statuses ran code whose cell belongs in the notebook.
RECORDED_STEP_STATUSES = frozenset({"ok", "error", "timeout", "kernel_restarted", "cancelled"})


def new_notebook(kernel_name: str = "python3") -> NotebookNode:
    nb: NotebookNode = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": kernel_name, "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def read_notebook(path: str) -> NotebookNode:
    """Read ``path`` as nbformat v4, or a new notebook if it does not exist; ValueError if it is not one."""
    if not os.path.exists(path):
        return new_notebook()
    try:
        with open(path, encoding="utf-8") as f:
            nb: NotebookNode = nbformat.read(f, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        raise ValueError(f"{path} is not a valid notebook: {exc}") from exc
    return nb


def write_notebook(nb: NotebookNode, path: str) -> None:
    """Validate, then replace ``path`` atomically so a crash never leaves half a notebook."""
    nbformat.validate(nb)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".codeinterp-", suffix=".ipynb", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _tag(run_id: str, role: str, step: int = 0) -> dict[str, Any]:
    """The same cell tag the labextension writes: prompt and answer cells have step 0."""
    return {"run_id": run_id, "step": step, "role": role}


def prompt_markdown(prompt: str) -> str:
    quoted = "\n".join(f"> {line}" for line in prompt.strip().split("\n"))
    return f"**Code Interpreter prompt**\n\n{quoted}"


def _find(nb: NotebookNode, tag: dict[str, Any]) -> int | None:
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("codeinterp")
        if meta and all(meta.get(k) == v for k, v in tag.items()):
            return index
    return None


def _upsert(nb: NotebookNode, tag: dict[str, Any], cell: NotebookNode) -> bool:
    """Insert ``cell`` after the run's last cell (or at the end), or replace the cell with the same tag."""
    cell.metadata["codeinterp"] = tag
    existing = _find(nb, tag)
    if existing is not None:
        cell["id"] = nb.cells[existing].get("id", cell.get("id"))
        nb.cells[existing] = cell
        return False
    run_cells = [
        i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("codeinterp", {}).get("run_id") == tag["run_id"]
    ]
    nb.cells.insert(run_cells[-1] + 1 if run_cells else len(nb.cells), cell)
    return True


def apply_event(nb: NotebookNode, event: dict[str, Any], *, prompt_cell: bool = True, answer_cell: bool = True) -> bool:
    """Reflect one event in the notebook; return whether the notebook changed."""
    kind, run_id = event.get("type"), event.get("run_id", "")
    if kind == "run_started" and prompt_cell:
        cell = nbformat.v4.new_markdown_cell(prompt_markdown(event["prompt"]))
        _upsert(nb, _tag(run_id, "prompt"), cell)
        return True
    if kind == "step" and event.get("stage") == "completed" and event.get("status") in RECORDED_STEP_STATUSES:
        cell = nbformat.v4.new_code_cell(event.get("code", ""))
        cell.execution_count = event.get("execution_count")
        cell.outputs = [
            nbformat.from_dict(o) for o in event.get("outputs", []) if o.get("output_type") != "clear_output"
        ]
        _upsert(nb, _tag(run_id, "code", event["step"]), cell)
        return True
    if kind == "run_ended" and answer_cell:
        if event.get("status") == "completed":
            text = event.get("answer") or "_(no answer)_"
        else:
            text = f"**Run {event.get('status')}:** {event.get('reason', '')}"
        _upsert(nb, _tag(run_id, "answer"), nbformat.v4.new_markdown_cell(text))
        return True
    return False
