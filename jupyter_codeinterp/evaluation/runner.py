"""Running eval tasks through the engine: each task in a fresh kernel, in its own folder with copies of its files,
recorded into that folder's notebook (the CLI's recorder), scored, appended to ``results.jsonl``.

Resumable: a task already in ``results.jsonl`` is not run again. ``summary.json`` is written from every result.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..config import CodeInterpreter
from .scoring import parse_answers, score, summarize
from .tasks import Task

RESULTS = "results.jsonl"
SUMMARY = "summary.json"

#: What the model is told beyond the task, as DABench's agents are: answer in the task's format.
EVAL_PROMPT = (
    "You are solving a data-analysis task. Use the python tool to read the data and compute the answer. "
    "End with a final answer that states every value in the requested @name[value] format."
)


def done_ids(out: Path) -> set[str]:
    path = out / RESULTS
    if not path.is_file():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short by a crash: that task runs again
    return ids


def read_results(out: Path) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    path = out / RESULTS
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                rows[str(row["id"])] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return list(rows.values())


def failure_of(status: str, reason: str, answer: str, task: Task, timed_out: bool) -> str | None:
    """Why a task got no scorable answer: timeout, max_steps, error or no_answer (None: it answered)."""
    if timed_out:
        return "timeout"
    if status != "completed":
        return "max_steps" if "max_steps" in reason else "error"
    names = {name for name, _ in task.answers}
    return None if names & parse_answers(answer).keys() else "no_answer"


async def run_task(task: Task, config: CodeInterpreter, out: Path, task_timeout: float) -> dict[str, Any]:
    """One task, start to score, in ``out/tasks/<id>/`` (its files, ``run.ipynb``)."""
    from jupyter_client.manager import AsyncKernelManager

    from ..clients import shared_client
    from ..executor import KernelExecutor
    from ..loop import Interpreter
    from ..notebook import RunRecorder, is_checkpoint, new_notebook, write_notebook

    folder = out / "tasks" / _safe(task.id)
    if folder.exists():
        shutil.rmtree(folder)  # a run cut short before it was scored: start it clean
    folder.mkdir(parents=True)
    for path in task.files:
        shutil.copy2(path, folder / path.name)
    notebook = folder / "run.ipynb"
    nb = new_notebook()
    recorder = RunRecorder(nb)

    def on_event(event: dict[str, Any]) -> None:
        if recorder.apply(event) and is_checkpoint(event):
            write_notebook(nb, str(notebook))

    started = time.monotonic()
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel(cwd=str(folder))
    executor = KernelExecutor(km)
    interp = Interpreter(config, executor, client=shared_client(config))  # one client for every task
    timer = asyncio.get_running_loop().call_later(
        task_timeout, interp.cancel, "failed", f"Stopped: the task took longer than {task_timeout:g} s."
    )
    try:
        result = await interp.run(task.prompt(), messages=[], emit=on_event, workdir=str(folder))
    finally:
        timer.cancel()
        executor.close()
        await km.shutdown_kernel(now=True)
    wall = time.monotonic() - started
    write_notebook(nb, str(notebook))
    timed_out = result.status == "failed" and result.reason.startswith("Stopped: the task took longer")
    return {
        "id": task.id,
        "level": task.level,
        "status": result.status,
        "reason": result.reason,
        "answer": result.answer,
        "parsed": parse_answers(result.answer),
        "gold": dict(task.answers),
        "correct": score(task.answers, result.answer, task.tolerance),
        "failure": failure_of(result.status, result.reason, result.answer, task, timed_out),
        "steps": len(result.steps),
        "tokens": result.usage["total_tokens"],
        "wall_seconds": round(wall, 3),
        "notebook": str(notebook.relative_to(out)),
    }


def error_row(task: Task, reason: str) -> dict[str, Any]:
    return {
        "id": task.id,
        "level": task.level,
        "status": "failed",
        "reason": reason,
        "answer": "",
        "parsed": {},
        "gold": dict(task.answers),
        "correct": score(task.answers, "", task.tolerance),
        "failure": "error",
        "steps": 0,
        "tokens": 0,
        "wall_seconds": 0.0,
        "notebook": "",
    }


def _safe(task_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in task_id) or "task"


class ProgressBar:
    """One line on stderr, redrawn as tasks finish."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.stream, self.width, self.done, self.right = total, stream, width, 0, 0

    def advance(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.right += bool(row["correct"]) and all(row["correct"].values())
        filled = self.width * self.done // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if self.done == self.total else ""
        print(f"\r[{bar}] {self.done}/{self.total} tasks, {self.right} right", end=end, file=self.stream, flush=True)


async def run_eval(
    tasks: list[Task],
    config: CodeInterpreter,
    out: Path,
    *,
    concurrency: int = 1,
    limit: int | None = None,
    task_timeout: float = 600.0,
    progress: TextIO | None = sys.stderr,
) -> dict[str, Any]:
    """Run the tasks not yet scored in ``out`` (the first ``limit`` of all), ``concurrency`` at a time; write
    ``summary.json`` over every result in ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    chosen = tasks[:limit] if limit is not None else tasks
    skip = done_ids(out)
    todo = [task for task in chosen if task.id not in skip]
    config.extra_system_prompt = "\n".join(p for p in (config.extra_system_prompt, EVAL_PROMPT) if p)
    bar = ProgressBar(len(todo), progress) if progress is not None and todo else None
    gate = asyncio.Semaphore(max(1, concurrency))
    with (out / RESULTS).open("a", encoding="utf-8") as results:

        async def one(task: Task) -> None:
            async with gate:
                try:
                    row = await run_task(task, config, out, task_timeout)
                except Exception as exc:  # e.g. no kernel: this task fails, the others still run
                    row = error_row(task, f"{type(exc).__name__}: {exc}")
            results.write(json.dumps(row) + "\n")
            results.flush()
            if bar is not None:
                bar.advance(row)

        try:
            await asyncio.gather(*(one(task) for task in todo))
        finally:
            from ..clients import close_clients

            await close_clients()
    ids = {task.id for task in chosen}
    summary = summarize(row for row in read_results(out) if row["id"] in ids)
    summary["model"] = config.model
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
