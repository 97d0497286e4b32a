"""With real-time collaboration, two tabs following the same run write its cells once."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LabServer
from tests.browser.ui import (
    SIDEBAR,
    keys_once,
    open_notebook,
    open_sidebar,
    output_text,
    send,
    tagged,
    wait_for,
    wait_run_status,
    written,
)
from tests.scripted_llm import ScriptedLLM, answer, code

#: Installed in a page: checks the run's code cells every 10 ms until cleared; the numbers printed must read
#: 0, 1, 2, ... (outputs written by a second writer would repeat some).
WATCH_OUTPUTS = """() => {
    window.__watched = {checks: 0, repeated: []};
    window.__watch = setInterval(() => {
        const model = window.jupyterapp.shell.currentWidget?.content?.model;
        if (!model) return;
        for (const cell of model.toJSON().cells) {
            const tag = cell.metadata && cell.metadata.codeinterp;
            if (!tag || tag.role !== 'code') continue;
            const text = (cell.outputs || [])
                .filter(o => o.output_type === 'stream')
                .map(o => [].concat(o.text).join(''))
                .join('');
            const printed = text.split(/\\s+/).filter(Boolean);
            window.__watched.checks += 1;
            if (printed.some((p, i) => p !== String(i))) window.__watched.repeated.push(printed.join(' '));
        }
    }, 10);
}"""


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
        # While both tabs follow the run, its outputs never show twice: only one tab writes them. Each page
        # checks its notebook every few milliseconds, from now to the run's end.
        for page in (first, second):
            page.evaluate(WATCH_OUTPUTS)
        for page in (first, second):
            wait_run_status(page, "completed", timeout=30_000)
        # Both tabs see the run written to its end (every cell tagged ended) and agree on every cell.
        cells = wait_for(
            lambda: (a := written(first)) and a == written(second) and len(tagged(a, "answer")) == 1 and a,
            message="both tabs with the same ended cells",
        )
        for page in (first, second):
            watched = page.evaluate("() => { clearInterval(window.__watch); return window.__watched; }")
            assert watched["checks"] > 0 and watched["repeated"] == [], watched
        assert keys_once(cells), [c["metadata"] for c in cells]
        assert [len(tagged(cells, r)) for r in ("prompt", "code", "answer")] == [1, 1, 1]
        assert output_text(tagged(cells, "code")[0]).split() == [str(i) for i in range(30)]
    finally:
        for c in contexts:
            c.close()
