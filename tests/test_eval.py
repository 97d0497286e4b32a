"""``jupyter codeinterp eval``: loading tasks, scoring DABench's way, and the harness end to end on the scripted
model (a real CLI process, real kernels, one fresh kernel and folder per task)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_codeinterp.evaluation.scoring import matches, parse_answers, score, summarize
from jupyter_codeinterp.evaluation.tasks import TaskError, load_tasks
from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM, answer, code

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "evals" / "tasks"


def labels() -> dict[str, list[list[str]]]:
    rows = [json.loads(line) for line in (TASKS / "codeinterp-labels.jsonl").read_text().splitlines()]
    return {str(row["id"]): row["common_answers"] for row in rows}


# -- scoring ------------------------------------------------------------------------------------------


def test_answers_are_parsed_from_at_name_brackets() -> None:
    text = "The mean is @mean[12.27] and the region @region[ South ]; again @mean[12.3]"
    assert parse_answers(text) == {"mean": "12.3", "region": "South"}
    assert parse_answers("no answer here") == {}


@pytest.mark.parametrize(
    ("gold", "got", "right"),
    [
        ("South", "south", True),
        ("0.52", "0.5249", True),
        ("0.52", "0.526", False),
        ("-0.52", "-0.515", True),
        ("196", "196.0", True),
        ("196", "197", False),
        ("2024-10", "2024-10", True),
        ("2024-10", "2024-11", False),
        ("12.27", None, False),
        ("12.27", "twelve", False),
    ],
)
def test_a_sub_answer_is_right_on_exact_match_or_within_the_gold_precision(gold: str, got: str, right: bool) -> None:
    assert matches(gold, got) is right


def test_an_explicit_tolerance_replaces_the_gold_precision() -> None:
    assert matches("10", "10.4", tolerance=0.5) and not matches("10", "10.6", tolerance=0.5)


def test_abq_psaq_uasq_overall_and_by_level() -> None:
    rows: list[dict[str, Any]] = [
        {"level": "easy", "correct": score([("a", "1")], "@a[1]"), "steps": 1, "tokens": 10, "wall_seconds": 1},
        {"level": "hard", "correct": score([("a", "1"), ("b", "2")], "@a[1] @b[3]"), "failure": None, "steps": 2,
         "tokens": 5, "wall_seconds": 2},
        {"level": "hard", "correct": score([("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")], ""),
         "failure": "no_answer", "steps": 0, "tokens": 0, "wall_seconds": 1},
    ]  # fmt: skip
    summary = summarize(rows)
    assert summary["abq"] == pytest.approx(1 / 3)
    assert summary["psaq"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert summary["uasq"] == pytest.approx(2 / 7)
    assert summary["by_level"]["hard"]["abq"] == 0 and summary["by_level"]["easy"]["abq"] == 1
    assert summary["failures"] == {"no_answer": 1}
    assert summary["tokens_total"] == 15 and summary["steps_mean"] == 1


# -- tasks ------------------------------------------------------------------------------------------


def test_our_task_set_regenerates_identically_from_its_script(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "evals" / "make_tasks.py"), str(tmp_path)], check=True)
    for name in ("codeinterp-questions.jsonl", "codeinterp-labels.jsonl"):
        assert (tmp_path / name).read_text() == (TASKS / name).read_text()
    for name in ("sales.csv", "orders.csv", "sensors.csv"):
        assert (tmp_path / "codeinterp-tables" / name).read_bytes() == (TASKS / "codeinterp-tables" / name).read_bytes()
    tasks = load_tasks(TASKS)
    assert len(tasks) == 15 and {t.level for t in tasks} == {"easy", "medium", "hard"}
    assert all(path.is_file() for t in tasks for path in t.files)


def test_the_prompt_carries_question_constraints_format_and_files() -> None:
    task = next(t for t in load_tasks(TASKS) if t.id == "12")
    prompt = task.prompt()
    assert task.question in prompt and task.constraints in prompt and "@enterprise_total[" in prompt
    assert "orders.csv, customers.xlsx" in prompt


def test_the_native_format_is_read_with_its_tolerance(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("x\n1\n2\n")
    row = {"id": "n1", "question": "Mean of x?", "files": ["data.csv"], "answers": {"mean": 1.5}, "tolerance": 0.1}
    (tmp_path / "tasks.jsonl").write_text(json.dumps(row) + "\n")
    [task] = load_tasks(tmp_path)
    assert task.files == [tmp_path / "data.csv"] and task.answers == [("mean", "1.5")] and task.tolerance == 0.1
    assert "@mean[mean]" in task.prompt()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no *questions*.jsonl"),
        ({"q-questions.jsonl": '{"id": 1, "question": "?"}\n'}, "no *labels*.jsonl"),
        ({"q-questions.jsonl": "{not json\n", "q-labels.jsonl": "", "q-tables/": ""}, "not JSON"),
        ({"q-questions.jsonl": '{"id": 1, "question": "?"}\n', "q-labels.jsonl": "", "q-tables/": ""}, "no answers"),
        (
            {
                "q-questions.jsonl": '{"id": 1, "question": "?", "file_name": "gone.csv"}\n',
                "q-labels.jsonl": '{"id": 1, "common_answers": [["a", "1"]]}\n',
                "q-tables/": "",
            },
            "does not exist",
        ),
    ],
)
def test_a_broken_task_folder_is_refused_saying_what_is_wrong(tmp_path: Path, files: dict[str, str], message: str):
    for name, text in files.items():
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text(text)
    with pytest.raises(TaskError, match=message.replace("*", r"\*")):
        load_tasks(tmp_path)


# -- the harness end to end, on the scripted model ------------------------------------------------------------


def run_eval_cli(llm: ScriptedLLM, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": TEST_KEY, "CODEINTERP_MODEL": "scripted-model"}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codeinterp.cli", "eval", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def solver(gold: dict[str, list[list[str]]]) -> Any:
    """A scripted model that reads the task from the request: first it lists the task's files, then it answers
    with the gold values, except task 14 (wrong), 15 (half right) and 7 (no @name[value] at all)."""

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        prompt = next(m["content"] for m in messages if m["role"] == "user")
        task_id = next(tid for tid in gold if tid_matches(tid, prompt, gold))
        if messages[-1]["role"] == "user":
            return code("import os; print(sorted(os.listdir('.')))")
        values = {name: value for name, value in gold[task_id]}
        if task_id == "14":
            values = {"r": "0.99"}
        if task_id == "15":
            values["mean_clean"] = "0"
        if task_id == "7":
            return answer("The median is about 79.")
        return answer("Done: " + " ".join(f"@{k}[{v}]" for k, v in values.items()))

    return reply


def tid_matches(tid: str, prompt: str, gold: dict[str, list[list[str]]]) -> bool:
    """Several tasks share an answer name: the full format string tells them apart."""
    return " ".join(f"@{name}[{name}]" for name, _ in gold[tid]) in prompt


def test_eval_runs_each_task_in_its_own_folder_scores_and_resumes(llm: ScriptedLLM, tmp_path: Path) -> None:
    gold = labels()
    llm.script(*[solver(gold)] * 30)
    out = tmp_path / "out"
    done = run_eval_cli(llm, str(TASKS), "--out", str(out), "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert "15/15 tasks" in done.stderr  # the progress bar
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"] == 15
    assert summary["abq"] == pytest.approx(12 / 15)
    assert summary["psaq"] == pytest.approx(12.5 / 15)
    subs = sum(len(a) for a in gold.values())
    assert summary["uasq"] == pytest.approx((subs - 1 - 1 - 1) / subs)
    assert summary["failures"] == {"no_answer": 1}
    assert summary["by_level"]["easy"]["tasks"] + summary["by_level"]["medium"]["tasks"] == 15 - 3
    assert summary["steps_mean"] == 1 and summary["tokens_total"] > 0
    assert "ABQ" in done.stdout and "all" in done.stdout
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(gold)
    # Each task ran in a fresh kernel in its own folder holding copies of its files, recorded in a notebook.
    join = next(r for r in rows if r["id"] == "12")
    nb = nbformat.read(out / join["notebook"], as_version=4)
    nbformat.validate(nb)
    listing = next(c for c in nb.cells if c.cell_type == "code")
    assert "'customers.xlsx', 'orders.csv', 'run.ipynb'" in listing.outputs[0]["text"]
    # Resumable: a second run asks the model nothing and gives the same summary.
    asked = len(llm.requests)
    again = run_eval_cli(llm, str(TASKS), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert len(llm.requests) == asked
    assert json.loads((out / "summary.json").read_text()) == summary


def test_eval_failures_are_counted_by_cause(llm: ScriptedLLM, tmp_path: Path) -> None:
    gold = labels()

    def looping(body: dict[str, Any]) -> dict[str, Any]:
        return code("print('still looking')")

    llm.script(*[looping] * 3)
    out = tmp_path / "out"
    done = run_eval_cli(llm, str(TASKS), "--out", str(out), "--limit", "1", "--max-steps", "2")
    assert done.returncode == 0, done.stderr
    [row] = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert row["id"] == "1" and row["failure"] == "max_steps" and row["status"] == "failed"
    assert row["correct"] == {name: False for name, _ in gold["1"]}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"] == 1 and summary["abq"] == 0 and summary["failures"] == {"max_steps": 1}


def test_eval_with_a_broken_task_folder_exits_2_and_runs_nothing(llm: ScriptedLLM, tmp_path: Path) -> None:
    done = run_eval_cli(llm, str(tmp_path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "no *questions*.jsonl" in done.stderr
    assert not (tmp_path / "out").exists() and not llm.requests
