"""`jupyter codeinterp run --file PATH`: the file is copied into the notebook's folder (never over another unless
--overwrite, never half-written), profiled for the model; the files the run writes are printed at the end."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.test_cli import run_cli
from tests.test_server_files import SAMPLES


def test_an_attached_file_is_copied_profiled_and_what_the_run_writes_is_printed(
    llm: ScriptedLLM, workdir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "incoming" / "latin1.csv"
    source.parent.mkdir()
    source.write_bytes((SAMPLES / "latin1.csv").read_bytes())
    llm.script(
        code("import pandas as pd\npd.read_csv('latin1.csv', encoding='latin-1').to_csv('utf8.csv', index=False)"),
        answer("Re-encoded as utf8.csv."),
    )
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "re-encode it", "--file", str(source), "--json")

    assert proc.returncode == 0, proc.stderr
    assert (workdir / "latin1.csv").read_bytes() == source.read_bytes()
    told = llm.requests[0]["messages"][-1]["content"]
    assert "- latin1.csv (attached): CSV" in told and "encoding latin-1" in told
    assert "[step 1/20] wrote: utf8.csv" in proc.stderr
    assert "[files] written by this run: utf8.csv" in proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["files"] == ["latin1.csv"]
    assert events[-1]["annotations"] == [{"path": "utf8.csv", "start": 14, "end": 22}]
    assert not list(workdir.glob(".*.part")), "no temporary copy is left"


def test_a_file_of_that_name_is_not_replaced_without_overwrite(llm: ScriptedLLM, workdir: Path, tmp_path: Path) -> None:
    (workdir / "data.csv").write_text("mine\n")
    other = tmp_path / "data.csv"
    other.write_text("theirs\n")
    refused = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", "--file", str(other))
    assert refused.returncode == 2 and "already exists: pass --overwrite" in refused.stderr
    assert (workdir / "data.csv").read_text() == "mine\n" and llm.requests == []
    assert not (workdir / "nb.ipynb").exists()

    llm.script(answer("Read it."))
    done = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", "--file", str(other), "--overwrite")
    assert done.returncode == 0, done.stderr
    assert (workdir / "data.csv").read_text() == "theirs\n"


def test_a_missing_file_is_a_usage_error(llm: ScriptedLLM, workdir: Path) -> None:
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", "--file", str(workdir / "nope.csv"))
    assert proc.returncode == 2 and "nope.csv: no such file" in proc.stderr and llm.requests == []
