"""Approval mode in the sidebar: "Ask before running code" pauses the run before each step with the exact code;
the pause survives a reload and shows in a second tab; Edit and run runs (and writes into the cell) the edited code;
a decision made in one tab takes the bar away in the other."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import SCREENSHOTS, LabServer
from tests.browser.ui import (
    SIDEBAR,
    open_notebook,
    output_text,
    send,
    tagged,
    wait_for,
    wait_run_status,
    written,
)
from tests.scripted_llm import ScriptedLLM, answer, code

PROPOSED = "import os\nprint('files:', len(os.listdir('.')))"
EDITED = "print('edited by the user')"
BAR = f"{SIDEBAR} .jp-codeinterp-approval"


def test_a_paused_run_survives_a_reload_and_runs_the_edited_code(
    browser: Any, lab: LabServer, script: ScriptedLLM
) -> None:
    script.script(code(PROPOSED), code("print('second step')"), answer("Done, as you edited it."))
    path = lab.new_notebook("approval", title="# Ask before running")
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    try:
        first, second = (c.new_page() for c in contexts)
        open_notebook(first, lab, path)
        first.locator(f"{SIDEBAR} #jp-codeinterp-approval-toggle").check()
        send(first, "How many files are here?")

        # Paused before step 1: the step shows exactly the code, the bar asks, nothing ran.
        wait_run_status(first, "waiting_for_approval")
        first.locator(f"{BAR}[data-step='1']").wait_for()
        step = first.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1']")
        assert step.get_attribute("data-awaiting") == "true"
        assert step.locator(".jp-codeinterp-code").inner_text().strip() == PROPOSED
        assert "Waiting for approval" in step.locator(".jp-codeinterp-stage").inner_text()
        run_id = first.locator(f"{SIDEBAR} .jp-codeinterp-run").last.get_attribute("data-run-id")
        record = lab.api("GET", f"/codeinterp/runs/{run_id}")
        assert record["status"] == "waiting_for_approval" and record["pending_approval"]["code"] == PROPOSED
        first.screenshot(path=str(SCREENSHOTS / "approval-light.png"))

        # A reload, and a second tab: both show the pause again (from the run's event log).
        open_notebook(first, lab, path)  # a fresh page load
        first.locator(f"{BAR}[data-step='1']").wait_for()
        assert first.locator(f"{SIDEBAR} #jp-codeinterp-approval-toggle").is_checked(), "the thread still asks"
        open_notebook(second, lab, path)
        second.locator(f"{BAR}[data-step='1']").wait_for()

        # Edit and run, in the first tab.
        first.locator(f"{BAR} button[data-action='edit']").click()
        first.locator(f"{BAR} textarea.jp-codeinterp-approval-code").fill(EDITED)
        first.locator(f"{BAR} button[data-action='run-edited']").click()

        # Step 2 asks again, in both tabs; the second tab runs it, and the first one's bar goes.
        first.locator(f"{BAR}[data-step='2']").wait_for()
        second.locator(f"{BAR}[data-step='2']").wait_for()
        second.locator(f"{BAR} button[data-action='run']").click()
        for page in (first, second):
            wait_run_status(page, "completed")
            assert page.locator(BAR).is_hidden()
        cells = wait_for(lambda: written(first), message="the run's cells, ended")
        [one, two] = tagged(cells, "code")
        assert "".join(one["source"]) == EDITED, "the cell holds what ran"
        assert output_text(one).strip() == "edited by the user"
        assert output_text(two).strip() == "second step"
        told = [m["content"] for m in script.requests[-2]["messages"] if m["role"] == "tool"]
        assert EDITED in told[-1]
        record = lab.api("GET", f"/codeinterp/runs/{run_id}")
        assert [s["code"] for s in record["steps"]] == [EDITED, "print('second step')"]
    finally:
        for context in contexts:
            context.close()


def test_skip_with_a_reason_and_stop(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(code("print('never')"), code("print('never either')"))
    path = lab.new_notebook("approval-skip")
    open_notebook(page, lab, path)
    page.locator(f"{SIDEBAR} #jp-codeinterp-approval-toggle").check()
    send(page, "Do two things")

    page.locator(f"{BAR}[data-step='1']").wait_for()
    page.locator(f"{BAR} button[data-action='skip']").click()
    page.locator(f"{BAR} input.jp-codeinterp-approval-reason").fill("not now")
    page.locator(f"{BAR} button[data-action='skip-confirm']").click()
    page.locator(f"{BAR}[data-step='2']").wait_for()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1'][data-status='skipped']").count() == 1
    page.locator(f"{BAR} button[data-action='stop']").click()

    wait_run_status(page, "cancelled")
    assert "Stopped by the user before step 2 ran." in page.locator(f"{SIDEBAR} .jp-codeinterp-run-reason").inner_text()
    told = [m["content"] for m in script.requests[-1]["messages"] if m["role"] == "tool"]
    assert told[-1].endswith("Their reason: not now")
    cells = wait_for(lambda: written(page), message="the run's cells, ended")
    assert tagged(cells, "code") == [], "no cell for steps that never ran"
