"""Files in the sidebar: a workbook dropped on it and a CSV picked with the paperclip upload into the notebook's
folder and show as chips (a taken name asks; Keep both renames); the run turns the workbook into a cleaned CSV and a
chart, listed under the step and linked in the answer; clicking them opens them in JupyterLab."""

from __future__ import annotations

import base64
from typing import Any

from tests.browser.conftest import SCREENSHOTS, LabServer
from tests.browser.ui import SIDEBAR, open_notebook, send, wait_for, wait_run_status
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.test_server_files import SAMPLES

CHIP = f"{SIDEBAR} .jp-codeinterp-composer .jp-codeinterp-chip"

CLEAN_AND_PLOT = """
import pandas as pd, matplotlib
matplotlib.use("Agg")
sales = pd.read_excel("messy.xlsx", sheet_name="Sales")
totals = sales.groupby("month")["revenue"].sum()
totals.to_csv("cleaned.csv")
totals.plot(kind="bar", title="Revenue by month").figure.savefig("chart.png")
print(totals.to_string())
"""

DROP = """([name, data]) => {
    const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name));
    const target = document.querySelector('#jp-codeinterp-sidebar');
    for (const type of ['dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }
}"""


def drop(page: Any, name: str, data: bytes) -> None:
    page.evaluate(DROP, [name, base64.b64encode(data).decode()])


def test_attach_by_drop_and_paperclip_then_open_what_the_run_wrote(
    page: Any, lab: LabServer, script: ScriptedLLM
) -> None:
    path = lab.new_notebook("files", title="# Revenue from the workbook")
    open_notebook(page, lab, path)
    workbook = (SAMPLES / "messy.xlsx").read_bytes()

    drop(page, "messy.xlsx", workbook)
    page.locator(f"{CHIP}[data-state='attached'][data-name='messy.xlsx']").wait_for()
    assert (lab.root / "messy.xlsx").read_bytes() == workbook
    page.locator(f"{SIDEBAR} .jp-codeinterp-file-picker").set_input_files(str(SAMPLES / "latin1.csv"))
    page.locator(f"{CHIP}[data-state='attached'][data-name='latin1.csv']").wait_for()

    # The same name again: asked, and "Keep both" uploads it under another name, which we then take off.
    drop(page, "messy.xlsx", workbook)
    page.locator(".jp-Dialog", has_text="A file of that name exists").wait_for()
    page.locator(".jp-Dialog button", has_text="Keep both").click()
    page.locator(f"{CHIP}[data-state='attached'][data-name='messy (2).xlsx']").wait_for()
    assert (lab.root / "messy (2).xlsx").exists() and not list(lab.root.glob("*codeinterp-upload"))
    page.locator(f"{CHIP}[data-name='messy (2).xlsx'] .jp-codeinterp-chip-remove").click()
    wait_for(lambda: page.locator(CHIP).count() == 2, message="two chips")

    script.script(
        code(CLEAN_AND_PLOT),
        answer("Revenue by month is in [cleaned.csv](sandbox:/mnt/data/cleaned.csv), and plotted in chart.png."),
    )
    send(page, "Total the revenue by month: give me a cleaned CSV and a chart.")
    wait_run_status(page, "completed", timeout=60_000)
    assert page.locator(CHIP).count() == 0, "the chips went with the prompt"
    told = script.requests[-2]["messages"][-1]["content"]
    assert "- messy.xlsx (attached): Excel workbook" in told and "- latin1.csv (attached): CSV" in told

    run = page.locator(f"{SIDEBAR} .jp-codeinterp-run").last
    prompt_chips = run.locator(".jp-codeinterp-prompt .jp-codeinterp-chip")
    assert prompt_chips.all_inner_texts() == ["messy.xlsx", "latin1.csv"]
    files = run.locator(".jp-codeinterp-step[data-step='1'] .jp-codeinterp-file")
    assert [f.get_attribute("data-path") for f in files.all()] == ["chart.png", "cleaned.csv"]
    links = run.locator(".jp-codeinterp-text a")
    assert links.all_inner_texts() == ["cleaned.csv", "chart.png"]
    page.screenshot(path=str(SCREENSHOTS / "files-xlsx-to-chart.png"))

    links.nth(1).click()  # the answer's chart.png: opened in JupyterLab
    page.locator(".lm-TabBar-tab .lm-TabBar-tabLabel", has_text="chart.png").wait_for()
    run.locator(".jp-codeinterp-file[data-path='cleaned.csv'] .jp-codeinterp-file-open").click()
    page.locator(".lm-TabBar-tab .lm-TabBar-tabLabel", has_text="cleaned.csv").wait_for()
    href = run.locator(".jp-codeinterp-file[data-path='cleaned.csv'] .jp-codeinterp-file-download").get_attribute(
        "href"
    )
    assert href and "/files/cleaned.csv" in href


def test_a_file_over_the_limit_is_refused_on_its_chip_and_nothing_is_uploaded(page: Any, lab: LabServer) -> None:
    path = lab.new_notebook("toolarge")
    open_notebook(page, lab, path)
    page.evaluate("() => { window.__big = new Uint8Array(1); }")
    page.evaluate(
        """() => {
        const transfer = new DataTransfer();
        const big = new File([new Uint8Array(8)], 'huge.bin');
        Object.defineProperty(big, 'size', {value: 600 * 1024 * 1024});
        transfer.items.add(big);
        document.querySelector('#jp-codeinterp-sidebar').dispatchEvent(
            new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }"""
    )
    chip = page.locator(f"{CHIP}[data-state='error']")
    chip.wait_for()
    assert "the limit is 512.0 MB" in chip.inner_text()
    assert not (lab.root / "huge.bin").exists()
