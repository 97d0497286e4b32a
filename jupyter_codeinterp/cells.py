"""The notebook cells of a run, defined once (``docs/cells.md``); ``labextension/src/cells.ts`` is the twin.

A run's cells are a pure function of its :class:`~.runstate.RunState`: the CLI writes them into the notebook
file, the sidebar into the open notebook, both upserting by the cell's tag so a replay never duplicates one.
``tests/fixtures/cells/*.json`` pins the format for both languages.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

from .events import Output
from .runstate import RECORDED_STEP_STATUSES, RunState

#: The metadata key of every cell we write.
METADATA_KEY = "codeinterp"

CellRole = Literal["prompt", "code", "answer"]
ALL_ROLES: frozenset[str] = frozenset({"prompt", "code", "answer"})


class CellTag(TypedDict):
    run_id: str
    #: The step of a code cell; 0 for the prompt and answer cells.
    step: int
    role: CellRole
    thread_id: str
    #: Present (true) once the run has ended: the cell will not change again.
    ended: NotRequired[bool]


class CellSpec(TypedDict):
    """An nbformat v4 cell without its id (the writer keeps the id of the cell it replaces)."""

    cell_type: Literal["markdown", "code"]
    source: str
    metadata: dict[str, Any]
    outputs: NotRequired[list[Output]]
    execution_count: NotRequired[int | None]


def prompt_markdown(prompt: str) -> str:
    quoted = "\n".join(f"> {line}" for line in prompt.strip().split("\n"))
    return f"**Code Interpreter prompt**\n\n{quoted}"


def end_markdown(state: RunState) -> str | None:
    """The answer cell's text: the answer of a completed run, or why the run did not complete."""
    if state.status == "completed":
        return state.answer if state.answer.strip() else None
    if state.final:
        label = "stopped" if state.status == "cancelled" else state.status
        return f"**Run {label}:** {state.reason}".rstrip() if state.reason else f"**Run {label}.**"
    return None


def tag_key(tag: dict[str, Any]) -> tuple[str, str, int]:
    """What identifies a cell of ours: the same key finds it again on a replay or in another writer."""
    return (str(tag.get("run_id", "")), str(tag.get("role", "")), int(tag.get("step", 0)))


#: Most characters of text (streams, plain-text results) one code cell keeps: about what a notebook gets from a
#: kernel in JupyterLab before the server's IOPub rate limit (1 MB/s) drops the rest. The run's record keeps all.
MAX_CELL_TEXT = 1_000_000


def cut_note(hidden: int) -> str:
    return (
        f"\n[Code Interpreter: {hidden:,} more characters of output are not kept in the notebook; "
        "the run's record has all of them.]\n"
    )


def cap_cell_text(outputs: list[dict[str, Any]], done: bool, limit: int = MAX_CELL_TEXT) -> list[dict[str, Any]]:
    """``outputs`` with at most ``limit`` characters of text, cut at a line end; once the step is ``done``, a note
    says how much was left out (not while it runs, so the cell only grows). Errors and rich outputs stay whole."""
    left, hidden, kept = limit, 0, []
    for output in outputs:
        kind = output.get("output_type")
        data = output.get("data") or {}
        if kind == "stream":
            key, text = "text", _text(output.get("text", ""))
        elif kind in ("execute_result", "display_data") and set(data) == {"text/plain"}:
            key, text = "data", _text(data["text/plain"])
        else:
            kept.append(output)
            continue
        if len(text) <= left:
            kept.append(output)
            left -= len(text)
            continue
        cut = text.rfind("\n", 0, left)
        end = cut + 1 if cut > left / 2 else left
        hidden += len(text) - end
        if end > 0:
            short = text[:end]
            kept.append({**output, "text": short} if key == "text" else {**output, "data": {"text/plain": short}})
        left = 0
    if hidden and done:
        kept.append({"output_type": "stream", "name": "stderr", "text": cut_note(hidden)})
    return kept


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def run_cells(state: RunState, roles: frozenset[str] = ALL_ROLES) -> list[CellSpec]:
    """Every cell of the run as it stands, in notebook order."""
    cells: list[CellSpec] = []

    def tag(role: CellRole, step: int = 0) -> dict[str, Any]:
        value: dict[str, Any] = {"run_id": state.run_id, "step": step, "role": role, "thread_id": state.thread_id}
        if state.final:
            value["ended"] = True
        return {METADATA_KEY: value}

    if "prompt" in roles and state.prompt:
        cells.append({"cell_type": "markdown", "source": prompt_markdown(state.prompt), "metadata": tag("prompt")})
    if "code" in roles:
        for n in sorted(state.steps):
            step = state.steps[n]
            if step.done and step.status not in RECORDED_STEP_STATUSES:
                continue
            cells.append(
                {
                    "cell_type": "code",
                    "source": step.code,
                    "metadata": tag("code", n),
                    "outputs": cap_cell_text(
                        [o for o in step.outputs.items if o.get("output_type") != "clear_output"], step.done
                    ),
                    "execution_count": step.execution_count,
                }
            )
    text = end_markdown(state) if "answer" in roles else None
    if text is not None:
        cells.append({"cell_type": "markdown", "source": text, "metadata": tag("answer")})
    return cells


def cell_tag(cell: dict[str, Any]) -> dict[str, Any] | None:
    """Our tag on a notebook cell, or None for a cell of the user's."""
    tag = (cell.get("metadata") or {}).get(METADATA_KEY)
    return tag if isinstance(tag, dict) and isinstance(tag.get("run_id"), str) and "role" in tag else None


def insert_index(cells: list[dict[str, Any]], run_id: str, role: str, thread_id: str = "") -> int:
    """Where a new cell of a run goes: after the run's last cell (a code cell above the run's answer), else after
    its thread's last cell, else at the end of the notebook, above the empty code cells the user left there.
    The lab extension's ``cellPlacement.ts`` places cells by the same rules."""
    last_of_run = last_of_thread = -1
    for i, cell in enumerate(cells):
        tag = cell_tag(cell)
        if tag is None:
            continue
        if tag["run_id"] == run_id:
            if role == "answer" or tag["role"] != "answer":
                last_of_run = i
        elif thread_id and tag.get("thread_id") == thread_id:
            last_of_thread = i
    if last_of_run >= 0:
        return last_of_run + 1
    if last_of_thread >= 0:
        return last_of_thread + 1
    end = len(cells)
    while end > 1 and cell_tag(cells[end - 1]) is None and _blank(cells[end - 1]):
        end -= 1
    return end


def _blank(cell: dict[str, Any]) -> bool:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return cell.get("cell_type") == "code" and not text.strip()
