"""The cells a run leaves in the notebook when it does not complete: the sidebar writes what the CLI writes
(docs/cells.md), a note saying why the run ended and no cell for a step that never ran."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import SCREENSHOTS, LabServer
from tests.browser.ui import (
    SIDEBAR,
    notebook_cells,
    open_notebook,
    output_text,
    send,
    tagged,
    wait_for,
    wait_run_status,
    written,
)
from tests.scripted_llm import ScriptedLLM, code, cut


def _steps(cells: list[dict[str, Any]]) -> list[int]:
    return [c["metadata"]["codeinterp"]["step"] for c in tagged(cells, "code")]


def test_a_failed_run_notes_why_and_drops_the_step_that_never_ran(
    page: Any, lab: LabServer, script: ScriptedLLM
) -> None:
    # Step 1 runs; step 2's code streams slowly, then the model stream is cut off (this server retries none):
    # step 2 ends skipped and the run fails.
    second = code("print('two')", chunk=1, delay=0.15)
    script.script(code("print('one')"), cut(second, at=len(second["arguments"]) - 4))
    path = lab.new_notebook("failed", title="# A run that fails")
    open_notebook(page, lab, path)
    send(page, "Print one, then two")

    # While step 2's code streams, its cell is in the notebook, growing like any step's.
    streaming = wait_for(lambda: 2 in _steps(c := notebook_cells(page)) and c, message="step 2's cell")
    assert _steps(streaming) == [1, 2]
    assert "one" in output_text(tagged(streaming, "code")[0])

    wait_run_status(page, "failed")
    cells = wait_for(lambda: written(page), message="the run's cells, ended")
    assert [c["metadata"].get("codeinterp", {}).get("role") for c in cells] == [None, "prompt", "code", "answer"]
    assert _steps(cells) == [1], "the step that never ran has no cell"
    [note] = tagged(cells, "answer")
    assert note["cell_type"] == "markdown"
    assert "".join(note["source"]).startswith("**Run failed:** The model stream was cut off before it finished")
    # What the server kept is what the notebook says: the same reason; every cell names the run's thread.
    run_id = tagged(cells)[0]["metadata"]["codeinterp"]["run_id"]
    record = lab.api("GET", f"/codeinterp/runs/{run_id}")
    assert "".join(note["source"]) == f"**Run failed:** {record['reason']}"
    for cell in tagged(cells):
        tag = cell["metadata"]["codeinterp"]
        assert tag["ended"] is True and tag["thread_id"] == record["thread_id"], tag

    # The note renders as markdown in the notebook; the sidebar shows the skipped step as not run.
    page.locator(".jp-MarkdownCell .jp-RenderedMarkdown strong", has_text="Run failed:").wait_for()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2'][data-status='skipped']").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "run-failed-cells-light.png"))
