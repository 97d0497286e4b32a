"""Budgets on the command line: `--max-tokens` / `--max-seconds` / `--max-cost` per run, and the notebook's runs as
its thread, whose totals are kept in the notebook and count against the thread budgets."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.test_cli import run_cli


def test_each_run_says_what_it_spent_and_the_notebook_keeps_the_threads_totals(
    llm: ScriptedLLM, workdir: Path, tmp_path: Path
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_codeinterp_config.py").write_text(
        "c.CodeInterpreter.max_thread_steps = 1\n"
        "c.CodeInterpreter.prices = {'scripted-model': {'input': 1.0, 'output': 4.0}}\n"
    )
    notebook = workdir / "nb.ipynb"
    llm.script(code("print(1)"), answer("One."))
    first = run_cli(llm, "run", str(notebook), "--prompt", "one", JUPYTER_CONFIG_DIR=str(config_dir))
    assert first.returncode == 0, first.stderr
    assert "[run] completed after 1 step(s), " in first.stderr and " tokens, $0.0" in first.stderr
    totals = nbformat.read(notebook, as_version=4).metadata["codeinterp"]["usage"]
    assert (totals["runs"], totals["steps"], totals["priced"]) == (1, 1, True) and totals["tokens"] > 0
    assert "[notebook] 1 run(s) so far: 1 step(s), " in first.stderr

    second = run_cli(llm, "run", str(notebook), "--prompt", "two", JUPYTER_CONFIG_DIR=str(config_dir))
    assert second.returncode == 1
    assert "this thread has used 1 step(s) of its 1 step(s)" in second.stderr
    assert len(llm.requests) == 2, "the second run did not ask the model"
    again = nbformat.read(notebook, as_version=4).metadata["codeinterp"]["usage"]
    assert (again["runs"], again["steps"], again["tokens"]) == (2, 1, totals["tokens"])


def test_the_run_token_budget_flag_stops_before_a_request_that_would_pass_it(llm: ScriptedLLM, workdir: Path) -> None:
    llm.script(answer("never asked for"))
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "hello", "--max-tokens", "10")
    assert proc.returncode == 1 and llm.requests == []
    assert "Stopped by the budget: this run has used 0 tokens of its 10 tokens" in proc.stderr


def test_a_negative_budget_is_a_usage_error(llm: ScriptedLLM, workdir: Path) -> None:
    proc = run_cli(llm, "run", str(workdir / "nb.ipynb"), "--prompt", "hello", "--max-seconds", "-1")
    assert proc.returncode == 2 and "max_run_seconds must be 0 (no limit) or positive" in proc.stderr
    assert not (workdir / "nb.ipynb").exists()
