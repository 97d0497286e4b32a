"""`jupyter codeinterp run`: the headless door, run as a real subprocess against the scripted model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM, answer, code


def run_cli(llm: ScriptedLLM, *args: str, key: str = TEST_KEY, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": key, "CODEINTERP_MODEL": "scripted-model"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codeinterp.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def roles(nb: nbformat.NotebookNode) -> list[tuple[str, str | None]]:
    return [(c.cell_type, c.metadata.get("codeinterp", {}).get("role")) for c in nb.cells]


def test_a_run_creates_the_notebook_with_prompt_steps_and_answer(llm, workdir: Path) -> None:
    llm.script(code("print('hello')\n1/0"), code("21 * 2"), answer("It is **42**."))
    notebook = workdir / "analysis.ipynb"
    proc = run_cli(llm, "run", str(notebook), "--prompt", "Compute 21*2")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "It is **42**."
    assert "[step 1/20] running" in proc.stderr and "[run] completed after 2 step(s)" in proc.stderr
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    assert roles(nb) == [("markdown", "prompt"), ("code", "code"), ("code", "code"), ("markdown", "answer")]
    prompt, failing, fixed, final = nb.cells
    assert prompt.source == "**Code Interpreter prompt**\n\n> Compute 21*2"
    assert failing.source == "print('hello')\n1/0"
    assert [o.output_type for o in failing.outputs] == ["stream", "error"]
    assert fixed.outputs[0]["data"]["text/plain"] == "42"
    assert fixed.execution_count == failing.execution_count + 1
    assert final.source == "It is **42**."


def test_json_prints_every_event_as_one_line(llm, workdir: Path) -> None:
    llm.script(code("1"), answer("one"))
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", "--json")

    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_ended"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"text_delta", "step", "usage"} <= {e["type"] for e in events}


def test_it_appends_to_an_existing_notebook_and_runs_in_its_folder(llm, workdir: Path) -> None:
    (workdir / "data.csv").write_text("a,b\n1,2\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# My analysis")])
    notebook = workdir / "existing.ipynb"
    nbformat.write(nb, notebook)
    llm.script(code("print(open('data.csv').read())"), answer("read it"))

    proc = run_cli(llm, "run", str(notebook), "--prompt", "read the data")

    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(notebook, as_version=4)
    assert nb.cells[0].source == "# My analysis"
    assert nb.cells[2].outputs[0]["text"] == "a,b\n1,2\n\n"
    assert "data.csv" in llm.requests[0]["messages"][0]["content"], "the model was told which files exist"


def test_model_max_steps_and_timeout_options_apply(llm, workdir: Path) -> None:
    llm.script(code("import time; time.sleep(20)"), code("2"), code("3"))
    proc = run_cli(
        llm,
        "run",
        str(workdir / "nb.ipynb"),
        "--prompt",
        "go",
        "--model",
        "other-model",
        "--max-steps",
        "2",
        "--timeout",
        "1",
    )
    assert proc.returncode == 1
    assert llm.requests[0]["model"] == "other-model"
    assert "timed out after 1 s" in llm.requests[1]["messages"][-1]["content"]
    assert proc.stderr.strip().splitlines()[-1] == (
        "codeinterp: run failed: Stopped: reached max_steps (2) before the model gave a final answer."
    )


def test_a_bad_key_exits_non_zero_with_one_line_and_no_key(llm, workdir: Path) -> None:
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", key="sk-bad-key-987654")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("codeinterp: run failed:") and "401" in last and llm.url in last
    assert "Traceback" not in proc.stderr
    assert "sk-bad-key-987654" not in proc.stderr + proc.stdout


def test_an_unreachable_endpoint_exits_non_zero(llm, workdir: Path) -> None:
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", OPENAI_BASE_URL="http://127.0.0.1:9")
    assert proc.returncode == 1
    assert "Could not reach the model endpoint http://127.0.0.1:9/v1" in proc.stderr


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("not json", [], "is not a valid notebook"),
        (None, ["--max-steps", "0"], "max_steps must be at least 1"),
        (None, ["--prompt", "  "], "the prompt is empty"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(llm, workdir: Path, setup, args, message) -> None:
    notebook = workdir / "nb.ipynb"
    if setup is not None:
        notebook.write_text(setup)
    argv = ["run", str(notebook), "--prompt", "go", *args]
    proc = run_cli(llm, *argv)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert (notebook.read_text() if notebook.exists() else None) == setup
    assert llm.requests == []


def test_no_model_configured_exits_2_saying_what_to_set(llm, workdir: Path) -> None:
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go", CODEINTERP_MODEL="")
    assert proc.returncode == 2 and "CODEINTERP_MODEL" in proc.stderr


def test_an_unknown_kernelspec_exits_2(llm, workdir: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x", "language": "python"}
    nbformat.write(nb, workdir / "nb.ipynb")
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "go")
    assert proc.returncode == 2 and "no kernel named 'no-such-kernel'" in proc.stderr
