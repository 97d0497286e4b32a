"""The sidebar in real Chromium against a real Jupyter server and the scripted model."""

from __future__ import annotations

import base64
import importlib.util
import struct
import zlib
from typing import Any

from tests.browser.conftest import SCREENSHOTS, LabServer
from tests.browser.ui import (
    SIDEBAR,
    activate_tab,
    keys_once,
    notebook_cells,
    open_notebook,
    open_other,
    open_sidebar,
    output_text,
    save,
    send,
    set_theme,
    tagged,
    wait_for,
    wait_kernel_idle,
    wait_run_status,
    written,
)
from tests.scripted_llm import ScriptedLLM, answer, code, error

HAS_MPL = importlib.util.find_spec("matplotlib") is not None

LOAD_CODE = """\
months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
sales = [120, 135, 190, 160, 175, 210]
total = sum(sales)
print(f"{len(months)} months, total sales {total}")
print("best month:", months[sales.index(max(sales))])
"""

PLOT_CODE = """\
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.bar(months, sales, color="#4c78a8")
ax.set_title("Sales by month")
ax.set_ylabel("units")
plt.show()
"""


def _tiny_png() -> str:
    """A 24x12 two-colour PNG, for kernels without matplotlib."""
    width, height = 24, 12
    row = b"\x00" + b"".join(bytes([76, 120, 168] if x < 12 else [245, 133, 24]) for x in range(width))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


IMAGE_CODE = (
    PLOT_CODE
    if HAS_MPL
    else "import base64\nfrom IPython.display import Image, display\n"
    f"display(Image(data=base64.b64decode('{_tiny_png()}')))\n"
)


def test_prompt_streams_stages_and_builds_cells(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code(LOAD_CODE, text="Let me load the monthly sales first.", chunk=6, delay=0.03),
        code(IMAGE_CODE, chunk=10, delay=0.01),
        answer(
            "Sales grew from **120** units in January to **210** in June; March was an early peak "
            "(190) and June is the best month.",
            chunk=6,
            delay=0.01,
        ),
    )
    page.set_viewport_size({"width": 1440, "height": 1000})
    path = lab.new_notebook("sales", title="# Monthly sales\n\nA first look at this year's sales.")
    open_notebook(page, lab, path)

    # Record every stage each step shows, as it shows it.
    page.evaluate(
        """() => {
        window.__stages = {};
        const seen = (el) => {
            const step = el.closest('.jp-codeinterp-step');
            if (!step) return;
            const n = step.dataset.step;
            const list = (window.__stages[n] = window.__stages[n] || []);
            const st = el.dataset.stage;
            if (st && list[list.length - 1] !== st) list.push(st);
        };
        new MutationObserver(muts => muts.forEach(m => {
            if (m.target.classList && m.target.classList.contains('jp-codeinterp-stage')) seen(m.target);
            m.addedNodes.forEach(n => n.querySelectorAll && n.querySelectorAll('.jp-codeinterp-stage').forEach(seen));
        })).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-stage']});
        // Time from Enter to the first generated cell in the notebook.
        window.__firstCell = null;
        new MutationObserver(() => {
            if (window.__firstCell === null && document.querySelector('.jp-NotebookPanel .jp-Cell .jp-InputArea')) {
                const nb = window.jupyterapp.shell.currentWidget;
                const cells = nb.content.model.sharedModel.cells;
                if (cells.some(c => c.getMetadata('codeinterp'))) window.__firstCell = performance.now();
            }
        }).observe(document.querySelector('.jp-NotebookPanel'), {subtree: true, childList: true});
    }"""
    )
    t0 = send(page, "Load the monthly sales and plot them")
    # A Stop button while running, code growing in the step view.
    page.locator(f"{SIDEBAR} .jp-codeinterp-stop").wait_for(state="visible")
    page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1'][data-stage='code_delta']").wait_for()
    page.wait_for_timeout(250)
    page.screenshot(path=str(SCREENSHOTS / "sidebar-streaming-light.png"))
    wait_run_status(page, "completed")
    assert page.evaluate("() => window.__firstCell") > t0

    stages = page.evaluate("() => window.__stages")
    assert stages["1"][0] in ("started", "code_delta")
    for stage in ("code_delta", "in_progress", "completed"):
        assert stage in stages["1"], stages
    steps = page.locator(f"{SIDEBAR} .jp-codeinterp-step")
    assert steps.count() == 2
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-status='ok']").count() == 2
    # Highlighted code, rendered outputs, an image, the answer as markdown, token usage.
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1'] .jp-codeinterp-code span").count() > 3
    assert "6 months, total sales 990" in steps.nth(0).inner_text()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2'] .jp-RenderedImage img").count() == 1
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-text strong", has_text="210").count() == 1
    assert "tokens" in page.locator(f"{SIDEBAR} .jp-codeinterp-usage").inner_text()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-stop").is_hidden()

    cells = wait_for(lambda: (c := notebook_cells(page)) and len(tagged(c, "answer")) == 1 and c, message="cells")
    prompt_cells, code_cells, answer_cells = (tagged(cells, r) for r in ("prompt", "code", "answer"))
    assert len(prompt_cells) == 1 and "Load the monthly sales" in "".join(prompt_cells[0]["source"])
    assert [c["metadata"]["codeinterp"]["step"] for c in code_cells] == [1, 2]
    assert "".join(code_cells[0]["source"]) == LOAD_CODE
    assert "6 months, total sales 990" in output_text(code_cells[0])
    assert code_cells[0]["execution_count"] is not None
    assert any("image/png" in o.get("data", {}) for o in code_cells[1]["outputs"])
    assert "best month" in "".join(answer_cells[0]["source"])
    # Order: prompt, step 1, step 2, answer, below the notebook's own first cell.
    roles = [c["metadata"].get("codeinterp", {}).get("role") for c in cells]
    assert roles == [None, "prompt", "code", "code", "answer"]
    # The README picture: the run from its prompt, in the sidebar and in the notebook.
    page.evaluate("() => { document.querySelector('.jp-codeinterp-thread-area').scrollTop = 0; }")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.content.scrollToItem(0, 'start')")
    page.wait_for_timeout(400)
    page.screenshot(path=str(SCREENSHOTS / "sidebar-run-light.png"))


def test_error_then_fix_and_dark_theme(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("ratio = 10 / 0\nprint(ratio)", text="Computing the ratio."),
        code(
            "denominator = 4\nratio = 10 / denominator\nprint(f'ratio = {ratio}')",
            text="Division by zero: I will use the real denominator.",
        ),
        answer("The ratio is **2.5**."),
    )
    path = lab.new_notebook("retry", title="# Ratio check")
    open_notebook(page, lab, path)
    try:
        set_theme(page, "JupyterLab Dark")
        send(page, "Compute the ratio")
        wait_run_status(page, "completed")
        assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1'][data-status='error']").count() == 1
        assert "ZeroDivisionError" in page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1']").inner_text()
        assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2'][data-status='ok']").count() == 1
        assert "ratio = 2.5" in page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2']").inner_text()
        cells = wait_for(lambda: (c := notebook_cells(page)) and len(tagged(c, "answer")) == 1 and c, message="answer")
        code_cells = tagged(cells, "code")
        assert len(code_cells) == 2
        assert code_cells[0]["outputs"][0]["output_type"] == "error"
        assert "ratio = 2.5" in output_text(code_cells[1])
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / "sidebar-error-retry-dark.png"))
    finally:
        set_theme(page, "JupyterLab Light")


def test_stop_cancels_the_run(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(code("import time\nfor i in range(600):\n    print(i, flush=True)\n    time.sleep(0.05)"))
    path = lab.new_notebook("stop")
    open_notebook(page, lab, path)
    send(page, "Count slowly")
    page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-stage='in_progress']").wait_for()
    wait_for(lambda: "3" in page.locator(f"{SIDEBAR} .jp-codeinterp-outputs").inner_text(), message="output")
    stop = page.locator(f"{SIDEBAR} .jp-codeinterp-stop")
    assert stop.is_visible()
    stop.click()
    wait_run_status(page, "cancelled", timeout=15_000)
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-status='cancelled']").count() == 1
    assert stop.is_hidden()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-send").is_visible()
    # The kernel was interrupted: it is idle again, and the cell kept its partial output.
    page.locator(f"{SIDEBAR} .jp-codeinterp-kernel[data-status='idle']").wait_for()
    cells = wait_for(lambda: written(page), message="the run's cells, ended")
    cell = tagged(cells, "code")[0]
    printed = output_text(cell).split()
    assert 3 <= len(printed) < 600
    # The notebook says why the run ended, as the CLI's notebooks do.
    [note] = tagged(cells, "answer")
    assert "".join(note["source"]) == "**Run stopped:** Cancelled by the user."


def test_reload_mid_run_restores_cells_once(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("print('first step')"),
        code("import time\nfor i in range(40):\n    print(i, flush=True)\n    time.sleep(0.1)\nprint('done counting')"),
        answer("Counted to **39**."),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    path = lab.new_notebook("reload")
    open_notebook(page, lab, path)
    send(page, "Print a step, then count")
    page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2'][data-stage='in_progress']").wait_for()
    wait_for(lambda: "5" in page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2']").inner_text(), message="5")
    # Saved mid-run: the file holds the prompt, step 1 and a partial step 2.
    save(page)
    wait_for(lambda: len(tagged(lab.read_notebook(path)["cells"], "code")) == 2, message="saved cells")
    page.reload()
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", state="attached")
    open_sidebar(page)
    # The sidebar found the active run and follows it to its end.
    wait_run_status(page, "completed", timeout=30_000)
    cells = wait_for(lambda: (c := notebook_cells(page)) and len(tagged(c, "answer")) == 1 and c, message="answer")
    assert keys_once(cells)
    assert [len(tagged(cells, r)) for r in ("prompt", "code", "answer")] == [1, 2, 1]
    counted = output_text(tagged(cells, "code")[1])
    assert counted.split() == [str(i) for i in range(40)] + ["done", "counting"]
    assert output_text(tagged(cells, "code")[0]) == "first step\n"
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run").count() == 1
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-step").count() == 2


def test_switching_notebooks_switches_the_thread(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("import time\ntime.sleep(1.5)\nprint('from A')"),
        answer("A is done."),
        code("print('from B')"),
        answer("B is done."),
    )
    a = lab.new_notebook("alpha")
    b = lab.new_notebook("beta")
    open_notebook(page, lab, a)
    send(page, "Work in A")
    page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-stage='in_progress']").wait_for()
    # Switch while A's run goes on: B has its own, empty thread.
    open_other(page, b)
    wait_kernel_idle(page)
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run").count() == 0
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-thread .jp-codeinterp-empty").is_visible()
    # A's cells kept arriving in A while B was shown.
    wait_for(lambda: len(tagged(notebook_cells(page, a), "answer")) == 1, message="A's answer")
    assert "from A" in output_text(tagged(notebook_cells(page, a), "code")[0])
    send(page, "Work in B")
    wait_run_status(page, "completed")
    assert "Work in B" in page.locator(f"{SIDEBAR} .jp-codeinterp-prompt").inner_text()
    activate_tab(page, a)
    page.locator(f"{SIDEBAR} .jp-codeinterp-prompt", has_text="Work in A").wait_for()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run").count() == 1
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run[data-status='completed']").count() == 1
    assert tagged(notebook_cells(page, b), "code") and keys_once(notebook_cells(page, a))
    assert not [
        c
        for c in notebook_cells(page, b)
        if c["metadata"].get("codeinterp", {}).get("run_id")
        in {t["metadata"]["codeinterp"]["run_id"] for t in tagged(notebook_cells(page, a))}
    ]


def test_bad_key_gives_an_actionable_message(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(error(401, "Incorrect API key provided."))
    path = lab.new_notebook("badkey")
    open_notebook(page, lab, path)
    send(page, "Hello")
    wait_run_status(page, "failed")
    reason = page.locator(f"{SIDEBAR} .jp-codeinterp-run-reason").inner_text()
    assert "401" in reason and "OPENAI_API_KEY" in reason


def test_no_kernel_offers_to_start_one(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    path = lab.new_notebook("nokernel")
    open_notebook(page, lab, path)
    page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    banner = page.locator(f"{SIDEBAR} .jp-codeinterp-no-kernel")
    banner.wait_for()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-send").is_disabled()
    banner.get_by_role("button", name="Start kernel").click()
    wait_kernel_idle(page)
    assert banner.count() == 0


def test_enter_sends_and_shift_enter_adds_a_line(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(answer("Two lines received."))
    path = lab.new_notebook("keys")
    open_notebook(page, lab, path)
    page.keyboard.press("Escape")
    # The keyboard shortcut (Alt+I) runs the command that opens the sidebar and focuses the prompt.
    page.locator(".jp-NotebookPanel .jp-Notebook").click()
    page.keyboard.press("Escape")
    page.keyboard.press("Alt+I")
    box = page.locator(f"{SIDEBAR} textarea.jp-codeinterp-input")
    wait_for(
        lambda: page.evaluate("() => document.activeElement && document.activeElement.id") == "jp-codeinterp-input",
        message="focus",
    )
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    assert box.input_value() == "line one\nline two"
    page.keyboard.press("Enter")
    wait_run_status(page, "completed")
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-prompt").inner_text() == "line one\nline two"
    assert box.input_value() == ""


def test_closing_the_tab_mid_run_and_reopening_restores_the_run(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("import time\nfor i in range(15):\n    print(i, flush=True)\n    time.sleep(0.1)"),
        answer("Counted to **14**."),
    )
    path = lab.new_notebook("reopen")
    open_notebook(page, lab, path)
    send(page, "Count")
    page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-stage='in_progress']").wait_for()
    # Close the notebook without saving it: the file holds nothing of the run.
    page.evaluate("() => window.jupyterapp.commands.execute('application:close')")
    page.locator(".jp-Dialog").get_by_role("button", name="Discard").click()
    page.locator(".jp-NotebookPanel").wait_for(state="detached")
    assert not tagged(lab.read_notebook(path)["cells"])
    # The run goes on on the server; reopen the notebook once it has ended.
    wait_for(
        lambda: any(
            r["status"] == "completed"
            for t in lab.api("GET", f"/codeinterp/threads?notebook_path={path}")["threads"]
            for r in t["runs"]
        ),
        message="the run's end",
    )
    open_other(page, path)
    cells = wait_for(lambda: (c := notebook_cells(page)) and len(tagged(c, "answer")) == 1 and c, message="cells")
    assert keys_once(cells)
    assert [len(tagged(cells, r)) for r in ("prompt", "code", "answer")] == [1, 1, 1]
    assert output_text(tagged(cells, "code")[0]).split() == [str(i) for i in range(15)]
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run[data-status='completed']").count() == 1


def test_model_dropdown_picks_the_model_of_the_next_run(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.models = ["scripted-model", "scripted-model-large"]
    try:
        script.script(answer("Hello from the large model."))
        path = lab.new_notebook("models")
        open_notebook(page, lab, path)
        select = page.locator(f"{SIDEBAR} select.jp-codeinterp-model-select")
        select.wait_for()
        assert select.input_value() == "scripted-model"
        select.select_option("scripted-model-large")
        send(page, "Hello")
        wait_run_status(page, "completed")
        assert script.requests[-1]["model"] == "scripted-model-large"
    finally:
        script.models = ["scripted-model"]


def test_settings_turn_off_the_prompt_and_answer_cells(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    settings = lab.settings_dir / "jupyter-codeinterp" / "plugin.jupyterlab-settings"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"addPromptCell": false, "addAnswerCell": false}')
    try:
        script.script(code("print('only code')"), answer("Done."))
        path = lab.new_notebook("settings")
        open_notebook(page, lab, path)
        send(page, "Code only")
        wait_run_status(page, "completed")
        # Written to the run's end (the answer cell would be there by now): the code cell alone.
        cells = tagged(wait_for(lambda: written(page), message="the run's cells, ended"))
        assert [c["metadata"]["codeinterp"]["role"] for c in cells] == ["code"]
        assert "only code" in output_text(cells[0])
    finally:
        settings.unlink()


def test_runs_started_by_a_script_show_up_and_write_their_cells(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("x = 2 + 2\nprint(x)"),
        answer("From the sidebar: 4."),
        # Quicker than the sidebar's 3 s poll: it is over before the sidebar can see it in progress.
        code("print('from a script')"),
        answer("The script's run is done."),
        # A follow-up that takes a while: seen while it runs.
        code("import time\ntime.sleep(4)\nprint('later')"),
        answer("Later is done."),
    )
    path = lab.new_notebook("scripted")
    open_notebook(page, lab, path)
    send(page, "Add two and two")
    wait_run_status(page, "completed")
    [session] = [s for s in lab.api("GET", "/api/sessions") if s["path"] == path]

    # A script starts a run on the same notebook and kernel, in a thread of its own.
    started = lab.api(
        "POST",
        "/codeinterp/runs",
        {
            "kernel_id": session["kernel"]["id"],
            "prompt": "Report from a script",
            "notebook_path": path,
            "thread_id": "new",
        },
    )

    # The open sidebar finds it, brings its thread into view and replays it.
    # (The run's view exists before its first event arrives: wait for the prompt, not just the view.)
    page.locator(
        f"{SIDEBAR} .jp-codeinterp-run[data-run-id='{started['run_id']}'] .jp-codeinterp-prompt",
        has_text="Report from a script",
    ).wait_for(timeout=15_000)
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run").count() == 1
    wait_run_status(page, "completed")
    # Its cells were written into the open notebook, once each, after the sidebar's own run.
    cells = wait_for(
        lambda: len(tagged(c := notebook_cells(page), "answer")) == 2 and c, message="the script run's cells"
    )
    assert keys_once(cells)
    run_ids = [c["metadata"]["codeinterp"]["run_id"] for c in tagged(cells)]
    assert run_ids[-1] == started["run_id"] and run_ids.count(started["run_id"]) == 3  # prompt, code, answer
    assert "from a script" in output_text(tagged(cells, "code")[-1])

    # A longer follow-up in that thread shows up while it runs, below the first.
    later = lab.api(
        "POST",
        "/codeinterp/runs",
        {"kernel_id": session["kernel"]["id"], "prompt": "And later?", "thread_id": started["thread_id"]},
    )
    page.locator(f"{SIDEBAR} .jp-codeinterp-run[data-run-id='{later['run_id']}'][data-status='running']").wait_for(
        timeout=10_000
    )
    page.locator(f"{SIDEBAR} .jp-codeinterp-run[data-run-id='{later['run_id']}'][data-status='completed']").wait_for(
        timeout=15_000
    )
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-run").count() == 2
    cells = wait_for(lambda: len(tagged(c := notebook_cells(page), "answer")) == 3 and c, message="the follow-up")
    assert keys_once(cells) and "later" in output_text(tagged(cells, "code")[-1])
