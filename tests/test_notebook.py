"""Recording runs into notebooks: idempotent by cell tag, valid nbformat, atomic writes."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from jupyter_codeinterp.notebook import apply_event, read_notebook, write_notebook

EVENTS = [
    {"type": "run_started", "run_id": "r1", "prompt": "Sum it\nplease"},
    {"type": "step", "run_id": "r1", "step": 1, "stage": "code_delta", "delta": "1 +"},
    {
        "type": "step",
        "run_id": "r1",
        "step": 1,
        "stage": "completed",
        "code": "1 + 1",
        "status": "ok",
        "execution_count": 3,
        "outputs": [
            {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "2"}, "metadata": {}}
        ],
    },
    {"type": "step", "run_id": "r1", "step": 2, "stage": "completed", "code": "", "status": "skipped", "outputs": []},
    {"type": "run_ended", "run_id": "r1", "status": "completed", "answer": "It is 2.", "reason": ""},
]


def test_applying_a_run_twice_writes_each_cell_once() -> None:
    nb = read_notebook("/nonexistent/new.ipynb")
    for _ in range(2):
        for event in EVENTS:
            apply_event(nb, event)
    nbformat.validate(nb)
    assert [(c.cell_type, c.metadata["codeinterp"]["role"]) for c in nb.cells] == [
        ("markdown", "prompt"),
        ("code", "code"),
        ("markdown", "answer"),
    ]
    assert nb.cells[0].source == "**Code Interpreter prompt**\n\n> Sum it\n> please"
    assert nb.cells[1].execution_count == 3 and nb.cells[1].outputs[0]["data"]["text/plain"] == "2"


def test_a_failed_run_is_recorded_with_its_reason() -> None:
    nb = read_notebook("/nonexistent/new.ipynb")
    apply_event(nb, {"type": "run_ended", "run_id": "r2", "status": "failed", "answer": "", "reason": "401"})
    assert nb.cells[0].source == "**Run failed:** 401"


def test_a_file_that_is_not_a_notebook_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not a valid notebook"):
        read_notebook(str(path))
    assert path.read_text() == "{not json"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    nb = read_notebook(str(tmp_path / "a.ipynb"))
    apply_event(nb, EVENTS[0])
    write_notebook(nb, str(tmp_path / "a.ipynb"))
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]
    assert nbformat.read(tmp_path / "a.ipynb", as_version=4).cells[0].metadata["codeinterp"]["run_id"] == "r1"
