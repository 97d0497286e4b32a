"""`jupyter codeinterp run --ask`: each step's code is shown on stderr and runs only once answered on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM, answer, code


def ask_cli(llm: ScriptedLLM, notebook: Path, answers: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": TEST_KEY, "CODEINTERP_MODEL": "scripted-model"}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codeinterp.cli", "run", str(notebook), "--prompt", "go", "--ask", *args],
        input=answers,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_run_edit_and_skip_are_answered_on_stdin(llm: ScriptedLLM, workdir: Path) -> None:
    marker = workdir / "ran.txt"
    llm.script(
        code("print('as proposed')"),
        code("print('to be edited')"),
        code(f"open({str(marker)!r}, 'w').write('ran')"),
        answer("Done."),
    )
    notebook = workdir / "ask.ipynb"
    answers = "maybe\nr\ne\nprint('edited')\n.\ns\nnot this one\n"
    proc = ask_cli(llm, notebook, answers, "--json")

    assert proc.returncode == 0, proc.stderr
    assert "Step 1 wants to run this code:" in proc.stderr and "print('as proposed')" in proc.stderr
    assert "Please answer run, edit, skip or stop" in proc.stderr, "a wrong answer is asked again"
    assert not marker.exists(), "the skipped step never ran"
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    decided = [
        (e["step"], e["decision"], e.get("code"), e.get("reason")) for e in events if e["type"] == "approval_decided"
    ]
    assert decided == [(1, "run", None, None), (2, "edit", "print('edited')", None), (3, "skip", None, "not this one")]
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert [c.source for c in cells] == ["print('as proposed')", "print('edited')"], "the cells hold what ran"
    told = [m["content"] for m in llm.requests[3]["messages"] if m["role"] == "tool"]
    assert told[-1] == "Not run: the user skipped this step. Their reason: not this one"


def test_stop_and_closed_input_end_the_run_before_the_step_runs(llm: ScriptedLLM, workdir: Path) -> None:
    marker = workdir / "ran.txt"
    llm.script(code(f"open({str(marker)!r}, 'w').write('ran')"))
    proc = ask_cli(llm, workdir / "stop.ipynb", "t\n")
    assert proc.returncode == 1 and "Stopped by the user before step 1 ran." in proc.stderr

    llm.script(code(f"open({str(marker)!r}, 'w').write('ran')"))
    proc = ask_cli(llm, workdir / "eof.ipynb", "")
    assert proc.returncode == 1 and "No more input: stopping the run." in proc.stderr
    assert not marker.exists()


def test_ask_needs_the_prompt_on_the_command_line(llm: ScriptedLLM, workdir: Path) -> None:
    env = {**os.environ, "OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": TEST_KEY, "CODEINTERP_MODEL": "scripted-model"}
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_codeinterp.cli", "run", str(workdir / "x.ipynb"), "--prompt", "-", "--ask"],
        input="hello",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2 and "--ask reads its answers from standard input" in proc.stderr
