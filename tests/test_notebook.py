"""Recording runs into notebooks: idempotent by cell tag, valid nbformat, atomic writes."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from jupyter_codeinterp.notebook import RunRecorder, read_notebook, write_notebook

EVENTS = [
    {"seq": 1, "type": "run_started", "run_id": "r1", "thread_id": "t1", "prompt": "Sum it\nplease"},
    {"seq": 2, "type": "step", "run_id": "r1", "step": 1, "stage": "code_delta", "delta": "1 +"},
    {
        "seq": 3,
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
    {"seq": 4, "type": "step", "run_id": "r1", "step": 2, "stage": "code_delta", "delta": "never"},
    {"seq": 5, "type": "step", "run_id": "r1", "step": 2, "stage": "completed", "code": "never", "status": "skipped"},
    {"seq": 6, "type": "run_ended", "run_id": "r1", "status": "completed", "answer": "It is 2.", "reason": ""},
]


def test_writing_a_run_twice_writes_each_cell_once_and_no_cell_for_a_skipped_step() -> None:
    nb = read_notebook("/nonexistent/new.ipynb")
    for _ in range(2):  # two writers, e.g. a replay into a notebook that already has the run
        recorder = RunRecorder(nb)
        for event in EVENTS:
            recorder.apply(event)
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
    recorder = RunRecorder(nb)
    recorder.apply({"seq": 1, "type": "run_started", "run_id": "r2", "thread_id": "t", "prompt": "hi"})
    recorder.apply({"seq": 2, "type": "run_ended", "run_id": "r2", "status": "failed", "answer": "", "reason": "401"})
    assert nb.cells[-1].source == "**Run failed:** 401"
    assert all(c.metadata["codeinterp"]["ended"] is True for c in nb.cells)


def test_a_thread_s_next_run_goes_below_its_last_cell_and_above_the_user_s_blank_cells() -> None:
    nb = read_notebook("/nonexistent/new.ipynb")
    nb.cells.append(nbformat.v4.new_markdown_cell("# Mine"))
    recorder = RunRecorder(nb)
    for event in EVENTS:
        recorder.apply(event)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("between"))
    nb.cells.append(nbformat.v4.new_code_cell(""))
    recorder.apply({"seq": 1, "type": "run_started", "run_id": "r3", "thread_id": "t1", "prompt": "again"})
    roles = [(c.metadata.get("codeinterp", {}).get("run_id"), c.source[:12]) for c in nb.cells]
    assert roles[-2][0] == "r3" and roles[-1] == (None, ""), "after r1's answer, above the empty cell"


def test_a_file_that_is_not_a_notebook_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not a valid notebook"):
        read_notebook(str(path))
    assert path.read_text() == "{not json"


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    nb = read_notebook(str(tmp_path / "a.ipynb"))
    RunRecorder(nb).apply(EVENTS[0])
    write_notebook(nb, str(tmp_path / "a.ipynb"))
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]
    assert nbformat.read(tmp_path / "a.ipynb", as_version=4).cells[0].metadata["codeinterp"]["run_id"] == "r1"


def test_a_cell_keeps_about_what_jupyterlab_would_and_says_so_once_the_step_ends() -> None:
    from jupyter_codeinterp.cells import cap_cell_text

    lines = "".join(f"line {i}\n" for i in range(100))  # 790 characters
    image = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}, "metadata": {}}
    outputs = [{"output_type": "stream", "name": "stdout", "text": lines}, image]
    running = cap_cell_text(outputs, done=False, limit=100)
    assert running[0]["text"] == "".join(f"line {i}\n" for i in range(13)) and running[1] == image
    assert len(running) == 2  # no note while it runs: the cell only grows
    ended = cap_cell_text(outputs, done=True, limit=100)
    assert ended[:2] == running
    assert ended[2]["name"] == "stderr" and "696 more characters" in ended[2]["text"]
    assert cap_cell_text(outputs, done=True, limit=10_000) == outputs
