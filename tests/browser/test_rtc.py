"""With real-time collaboration, two tabs following the same run write its cells once."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LabServer
from tests.browser.ui import (
    SIDEBAR,
    keys_once,
    notebook_cells,
    open_notebook,
    open_sidebar,
    output_text,
    send,
    tagged,
    wait_for,
    wait_run_status,
)
from tests.scripted_llm import ScriptedLLM, answer, code


def test_two_collaborating_tabs_write_each_cell_once(browser: Any, lab_rtc: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("import time\nfor i in range(30):\n    print(i, flush=True)\n    time.sleep(0.1)"),
        answer("Counted to **29**."),
    )
    path = lab_rtc.new_notebook("rtc")
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    try:
        first, second = (c.new_page() for c in contexts)
        open_notebook(first, lab_rtc, path)
        send(first, "Count with a friend watching")
        first.locator(f"{SIDEBAR} .jp-codeinterp-step[data-stage='in_progress']").wait_for()
        # The second tab opens the notebook mid-run: it finds the active run and follows it too.
        open_notebook(second, lab_rtc, path)
        open_sidebar(second)
        # While both tabs follow the run, its outputs never show twice: only one tab writes them.
        for _ in range(15):
            for page in (first, second):
                code_cells = tagged(notebook_cells(page), "code")
                printed = output_text(code_cells[0]).split() if code_cells else []
                assert printed == [str(i) for i in range(len(printed))], printed
            first.wait_for_timeout(100)
        for page in (first, second):
            wait_run_status(page, "completed", timeout=30_000)
        for page in (first, second):
            cells = wait_for(
                lambda p=page: (c := notebook_cells(p)) and len(tagged(c, "answer")) == 1 and c, message="answer"
            )
            page.wait_for_timeout(600)
            cells = notebook_cells(page)
            assert keys_once(cells), [c["metadata"] for c in cells]
            assert [len(tagged(cells, r)) for r in ("prompt", "code", "answer")] == [1, 1, 1]
            assert output_text(tagged(cells, "code")[0]).split() == [str(i) for i in range(30)]
    finally:
        for c in contexts:
            c.close()
