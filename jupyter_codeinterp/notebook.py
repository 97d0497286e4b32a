"""Writing a run into a notebook: a markdown prompt, one code cell per executed step, a markdown answer.

The cells are ``cells.run_cells`` of the run's folded state (docs/cells.md), the same the lab extension writes.
Each carries ``metadata.codeinterp`` (run, step, role, thread), so writing a run again (a replay, a second
writer) updates its cells instead of adding others.

The cells carry no ``trusted`` flag and the file is never signed: the outputs of model-written code open untrusted,
sanitised by JupyterLab (docs/security.md).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import nbformat
from nbformat import NotebookNode

from .cells import ALL_ROLES, METADATA_KEY, CellSpec, cell_tag, insert_index, run_cells, tag_key
from .runstate import RunState


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


def write_run(nb: NotebookNode, state: RunState, roles: frozenset[str] = ALL_ROLES) -> bool:
    """Make the notebook hold the run's cells as ``cells.run_cells`` gives them; return whether it changed.

    Cells are found by their tag before one is inserted, so writing the same run again (or a notebook the sidebar
    wrote) updates cells instead of adding them; a cell the run no longer has (a step that ended skipped) goes.
    """
    wanted = run_cells(state, roles)
    keys = {tag_key(spec["metadata"][METADATA_KEY]) for spec in wanted}
    changed = False
    for index in reversed(range(len(nb.cells))):
        tag = cell_tag(nb.cells[index])
        if tag is not None and tag["run_id"] == state.run_id and tag_key(tag) not in keys:
            del nb.cells[index]
            changed = True
    for spec in wanted:
        changed = _upsert(nb, spec, state.thread_id) or changed
    return changed


def _upsert(nb: NotebookNode, spec: CellSpec, thread_id: str) -> bool:
    tag = spec["metadata"][METADATA_KEY]
    key = tag_key(tag)
    cell = _node(spec)
    for index, existing in enumerate(nb.cells):
        found = cell_tag(existing)
        if found is not None and tag_key(found) == key:
            cell["id"] = existing.get("id", cell.get("id"))
            cell.metadata = {**existing.get("metadata", {}), **cell.metadata}
            if existing == cell:
                return False
            nb.cells[index] = cell
            return True
    nb.cells.insert(insert_index(nb.cells, tag["run_id"], tag["role"], thread_id), cell)
    return True


def _node(spec: CellSpec) -> NotebookNode:
    cell: NotebookNode
    if spec["cell_type"] == "markdown":
        cell = nbformat.v4.new_markdown_cell(spec["source"], metadata=dict(spec["metadata"]))
        return cell
    cell = nbformat.v4.new_code_cell(spec["source"], metadata=dict(spec["metadata"]))
    cell.execution_count = spec.get("execution_count")
    cell.outputs = [nbformat.from_dict(o) for o in spec.get("outputs", [])]
    return cell


#: Events after which the CLI saves the notebook: a run's cells are worth a write when a run starts, a step ends
#: and the run ends (not at every piece of streamed code).
CHECKPOINTS = frozenset({"run_started", "run_ended"})


def is_checkpoint(event: dict[str, Any]) -> bool:
    return event.get("type") in CHECKPOINTS or (event.get("type") == "step" and event.get("stage") == "completed")


class RunRecorder:
    """Folds the events of the runs written into one notebook, and keeps their cells in it."""

    def __init__(self, nb: NotebookNode, roles: frozenset[str] = ALL_ROLES) -> None:
        self.nb = nb
        self.roles = roles
        self.runs: dict[str, RunState] = {}

    def apply(self, event: dict[str, Any]) -> bool:
        """Fold one event in; return whether the notebook changed."""
        state = self.runs.setdefault(str(event.get("run_id", "")), RunState())
        if not state.apply(event):
            return False
        return write_run(self.nb, state, self.roles)
