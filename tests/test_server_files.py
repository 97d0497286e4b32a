"""Files in and out through the server: ``files`` on POST /codeinterp/runs is checked before any model call; the
model is told each attached file's profile; the files a step writes are reported in its event and record, and the
answer's mentions of them become annotations, live and after a restart of the reading (from the store)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, server_config
from tests.test_prompt_injection import notebook_kernel

SAMPLES = Path(__file__).parent / "fixtures" / "files"

CLEAN_AND_PLOT = """
import pandas as pd, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
sales = pd.read_excel("data/messy.xlsx", sheet_name="Sales")
totals = sales.groupby("month")["revenue"].sum()
totals.to_csv("cleaned.csv")
totals.plot(kind="bar").figure.savefig("chart.png")
print(totals.to_string())
"""


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, store_path: Path) -> dict[str, Any]:
    config = server_config(llm, store_path)
    config["CodeInterpreter"]["max_file_bytes"] = 100_000
    return config


@pytest.fixture
def data(jp_root_dir: Path) -> Path:
    folder = jp_root_dir / "data"
    folder.mkdir()
    shutil.copy(SAMPLES / "messy.xlsx", folder / "messy.xlsx")
    return folder


async def test_an_attached_workbook_is_profiled_and_the_files_a_step_writes_are_reported_and_cited(
    api: Api, llm: ScriptedLLM, data: Path, jp_root_dir: Path
) -> None:
    kernel_id = await notebook_kernel(api)
    llm.script(
        code(CLEAN_AND_PLOT),
        answer("Revenue by month is in [cleaned.csv](sandbox:/mnt/data/cleaned.csv), plotted in chart.png."),
    )
    started = await api.start(kernel_id, "Total revenue by month, as a CSV and a chart", files=["data/messy.xlsx"])
    done = await api.wait(started["run_id"], timeout=60)

    assert done["status"] == "completed", done["reason"]
    assert done["files"] == ["data/messy.xlsx"]
    told = llm.requests[0]["messages"][-1]["content"]
    assert told.startswith("Total revenue by month") and "- data/messy.xlsx (attached): Excel workbook" in told
    assert "sheet 'Sales': 6 rows x 4 columns" in told and "sheet 'Raw export'" in told
    [step] = done["steps"]
    assert {f["path"]: f["change"] for f in step["files"]} == {"chart.png": "created", "cleaned.csv": "created"}
    assert step["files_truncated"] is False
    assert (jp_root_dir / "cleaned.csv").exists() and (jp_root_dir / "chart.png").exists()
    answer_text = done["answer"]
    cited = [(a["path"], answer_text[a["start"] : a["end"]]) for a in done["annotations"]]
    assert cited == [
        ("cleaned.csv", "cleaned.csv"),  # the link's text names it too
        ("cleaned.csv", "sandbox:/mnt/data/cleaned.csv"),
        ("chart.png", "chart.png"),
    ]

    events = await api.all_events(started["run_id"])
    assert events[0]["files"] == ["data/messy.xlsx"]
    completed = [e for e in events if e["type"] == "step" and e["stage"] == "completed"]
    assert completed[0]["files"] == step["files"]
    assert events[-1]["annotations"] == done["annotations"]

    # A second turn of the thread is told nothing more of the folder (a profile is told once, with its prompt).
    llm.script(answer("Still two files."))
    again = await api.start(kernel_id, "How many files did you write?", thread_id=started["thread_id"])
    await api.wait(again["run_id"])
    assert llm.requests[-1]["messages"][-1]["content"] == "How many files did you write?"


async def test_a_first_turn_is_told_the_folders_data_files(api: Api, llm: ScriptedLLM, jp_root_dir: Path) -> None:
    (jp_root_dir / "sales.csv").write_text("month,units\n2026-01,10\n2026-02,12\n")
    kernel_id = await notebook_kernel(api)
    llm.script(answer("There is sales.csv."))
    await api.wait((await api.start(kernel_id, "What data is here?"))["run_id"])
    told = llm.requests[0]["messages"][-1]["content"]
    assert "- sales.csv: CSV" in told and "~2 rows x 2 columns" in told and "(attached)" not in told


@pytest.mark.parametrize(
    ("files", "status", "names"),
    [
        (["missing.csv"], 404, "'missing.csv' does not exist"),
        (["../outside.csv"], 400, "leaves the Jupyter root"),
        (["/etc/passwd"], 400, "is an absolute path"),
        (["link.csv"], 400, "points outside the Jupyter root"),
        (["big.csv"], 413, "the limit is 100,000"),
        (["data"], 400, "is not a file"),
        ("data/messy.xlsx", 400, "'files' must be a list"),
        ([""], 400, "path is empty"),
    ],
)
async def test_a_bad_attachment_is_refused_naming_it_before_any_model_call(
    api: Api, llm: ScriptedLLM, kernel_id: str, data: Path, jp_root_dir: Path, tmp_path: Path,
    files: Any, status: int, names: str,
) -> None:  # fmt: skip
    (tmp_path / "secret.csv").write_text("x")
    os.symlink(tmp_path / "secret.csv", jp_root_dir / "link.csv")
    (jp_root_dir / "big.csv").write_bytes(b"x" * 100_001)
    code_, body = await api.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": "go", "files": files})
    assert code_ == status, body
    assert names in json.dumps(body)
    assert llm.requests == []
    _, listing = await api.get("codeinterp", "threads")
    assert listing["threads"] == [], "nothing was recorded"
