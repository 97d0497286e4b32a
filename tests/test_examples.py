"""Every notebook in examples/ runs top to bottom (nbclient, a real kernel) against the scripted model, so none rots.

Each runs in a copy of examples/ with the scripted model's URL, key and name in the environment, as a user would
set them; the scripted replies are plausible code for the sample data, and that code really runs on it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_codeinterp.transcript import RUN_MIME_TYPE
from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM, answer, code

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

LOAD_SALES = """\
import pandas as pd
sales = pd.read_csv("data/sales.csv", parse_dates=["date"])
by_region = sales.groupby("region")["revenue"].sum().sort_values(ascending=False)
print(by_region)
print("lead:", by_region.iloc[0] - by_region.iloc[1])
"""

PLOT_REGIONS = """\
import matplotlib.pyplot as plt
monthly = sales.pivot_table(index=sales.date.dt.to_period("M"), columns="region", values="revenue", aggfunc="sum")
ax = monthly.plot(figsize=(7, 3.5), title="Monthly revenue by region")
ax.set_ylabel("revenue")
plt.show()
"""

RETURN_SHARE = """\
import pandas as pd
sales = pd.read_csv("data/sales.csv")
products = pd.read_excel("data/sales.xlsx", sheet_name="Products")
returns = pd.read_excel("data/sales.xlsx", sheet_name="Returns")
sold = sales.merge(products, on="product").groupby("category")["units"].sum()
back = returns.merge(products, on="product").groupby("category")["units"].sum()
print((100 * back / sold).round(1))
"""

SUMMARY = """\
import pandas as pd
sales = pd.read_csv("data/sales.csv", parse_dates=["date"])
print(len(sales), "order lines,", sales.date.min().date(), "to", sales.date.max().date())
print(sales.groupby("region")["revenue"].sum())
"""

TOP_PRODUCT = """\
import pandas as pd
print(pd.read_csv("data/sales.csv").groupby("product")["units"].sum().idxmax())
"""

#: notebook -> the model's replies, in the order the notebook asks for them
SCRIPTS: dict[str, list[dict[str, Any]]] = {
    "demo.ipynb": [],  # the sidebar flow: its prompts are sent from the sidebar (scripts/binder_smoke.sh)
    "magic.ipynb": [
        code(LOAD_SALES),
        answer("**South** had the highest revenue (52,528.50), 9,355.00 ahead of West."),
        code(PLOT_REGIONS),
        answer("Every region peaks in March and December; South leads all year."),
        code(RETURN_SHARE),
        answer("Appliances: **7.6 %** of units came back; consumables 1.3 %, accessories 0.3 %."),
    ],
    "cli.ipynb": [
        code("print(6 * 7)"),  # the doctor's tool-calling check
        code(SUMMARY),
        answer("1,525 order lines from 1 January to 31 December 2025; South sold the most."),
        code(TOP_PRODUCT),
        answer("Coffee beans 1 kg."),
    ],
}


def test_every_example_has_a_script() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(SCRIPTS)


def test_the_committed_sample_data_is_what_make_data_makes(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_data
    finally:
        sys.path.remove(str(EXAMPLES))
    make_data.write(tmp_path)
    assert (tmp_path / "sales.csv").read_text() == (EXAMPLES / "data" / "sales.csv").read_text()

    from openpyxl import load_workbook

    def sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
        book = load_workbook(path, read_only=True)
        return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}

    fresh, committed = sheets(tmp_path / "sales.xlsx"), sheets(EXAMPLES / "data" / "sales.xlsx")
    assert list(committed) == ["Products", "Targets", "Returns"]
    assert fresh == committed
    with open(EXAMPLES / "data" / "sales.csv") as f:
        header = next(csv.reader(f))
    assert header == ["order_id", "date", "region", "product", "units", "unit_price", "revenue"]


@pytest.fixture
def examples(tmp_path: Path, llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/, and the environment a user sets: endpoint, key, model, and `jupyter` on PATH."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("CODEINTERP_MODEL", "scripted-model")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return folder


def run_example(folder: Path, name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(folder / name, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    nbformat.validate(nb)
    return nb


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


def cell(nb: nbformat.NotebookNode, starts: str) -> nbformat.NotebookNode:
    [found] = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    return found


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_example_runs_top_to_bottom(name: str, examples: Path, llm: ScriptedLLM) -> None:
    llm.script(*SCRIPTS[name])
    nb = run_example(examples, name)

    errors = [out for c in nb.cells for out in c.get("outputs", []) if out.output_type == "error"]
    assert errors == []
    assert llm.remaining == 0, "every scripted reply was asked for"
    assert "Traceback" not in "".join(text_of(c) for c in nb.cells if c.cell_type == "code")
    CHECKS[name](nb)


def check_demo(nb: nbformat.NotebookNode) -> None:
    config = text_of(cell(nb, "%load_ext"))
    assert "model: 'scripted-model'" in config and "problem" not in config
    assert "1525 order lines from 01 Jan to 31 Dec 2025" in text_of(cell(nb, "import pandas"))
    assert "{'Products': (8, 4), 'Targets': (48, 3), 'Returns':" in text_of(cell(nb, "import pandas"))


def check_magic(nb: nbformat.NotebookNode) -> None:
    asks = [c for c in nb.cells if c.source.startswith("%%interpret")]
    assert len(asks) == 3
    for ask in asks:
        [display] = ask.outputs
        events = display.data[RUN_MIME_TYPE]["events"]
        assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"
    assert "image/png" in json.dumps(asks[1].outputs[0].data[RUN_MIME_TYPE]), "the chart reached the run's display"
    assert text_of(cell(nb, 'sales.groupby("region")')).splitlines()[1].startswith("South")


def check_cli(nb: nbformat.NotebookNode) -> None:
    doctor = text_of(cell(nb, "!jupyter codeinterp doctor"))
    assert "[ ok ] tool calling" in doctor and doctor.rstrip().endswith("Ready."), doctor
    run = text_of(cell(nb, "!jupyter codeinterp run sales-report.ipynb --max-steps"))
    assert "[run] completed after 1 step(s)" in run and "1,525 order lines" in run
    recorded = text_of(cell(nb, "import nbformat"))
    assert [line.split(" cell")[0] for line in recorded.splitlines() if line.startswith("---")] == [
        "--- markdown",
        "--- code",
        "--- markdown",
    ]
    events = text_of(cell(nb, "import json"))
    assert "ended: completed after 1 step(s)" in events


CHECKS = {"demo.ipynb": check_demo, "magic.ipynb": check_magic, "cli.ipynb": check_cli}
