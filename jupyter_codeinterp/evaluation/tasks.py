"""Eval tasks: read from InfiAgent-DABench's release layout or from our simple native format.

DABench: a ``*questions*.jsonl`` (``id``, ``question``, ``constraints``, ``format``, ``file_name``, ``level``), a
``*labels*.jsonl`` (``id``, ``common_answers`` as ``[[name, value], ...]``) and a ``*tables*`` folder with the files
(``file_name`` may also be a list, for a task that joins files).
Native: a ``tasks.jsonl`` of ``{"id", "question", "files": [...], "answers": {name: value}, "level"?,
"tolerance"?, "constraints"?, "format"?}`` with the files beside it (or under ``files/``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TaskError(ValueError):
    """The task folder cannot be read; the message says which file and why."""


@dataclass
class Task:
    id: str
    question: str
    files: list[Path]
    #: The gold answers, ``[(name, value), ...]`` as text.
    answers: list[tuple[str, str]]
    level: str = ""
    constraints: str = ""
    format: str = ""
    #: Absolute tolerance for numeric answers; None: within the gold answer's own precision.
    tolerance: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def prompt(self) -> str:
        """The question as the benchmark's own prompt puts it: question, constraints, answer format, files."""
        parts = [f"Question: {self.question}"]
        if self.constraints:
            parts.append(f"Constraints: {self.constraints}")
        if self.format:
            parts.append(f"Answer format (your final answer must follow it exactly): {self.format}")
        if self.files:
            names = ", ".join(path.name for path in self.files)
            parts.append(f"Data files (in the current working directory): {names}")
        return "\n".join(parts)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaskError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "id" not in row:
            raise TaskError(f"{path}:{number}: each line must be an object with an id")
        rows.append(row)
    return rows


def _one(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.glob(pattern))
    if len(found) > 1:
        raise TaskError(f"{folder}: more than one {pattern}: {', '.join(p.name for p in found)}")
    return found[0] if found else None


def load_tasks(folder: str | Path) -> list[Task]:
    """The tasks of ``folder`` in file order; TaskError if it is neither layout or a task is incomplete."""
    root = Path(folder)
    if not root.is_dir():
        raise TaskError(f"{root} is not a folder")
    questions = _one(root, "*questions*.jsonl")
    if questions is not None:
        return _load_dabench(root, questions)
    native = root / "tasks.jsonl"
    if native.is_file():
        return _load_native(root, native)
    raise TaskError(f"{root}: no *questions*.jsonl (DABench layout) or tasks.jsonl (native format)")


def _load_dabench(root: Path, questions: Path) -> list[Task]:
    labels_path = _one(root, "*labels*.jsonl")
    if labels_path is None:
        raise TaskError(f"{root}: {questions.name} has no *labels*.jsonl beside it")
    tables = next((p for p in sorted(root.glob("*tables*")) if p.is_dir()), None)
    if tables is None:
        raise TaskError(f"{root}: no *tables* folder holding the data files")
    labels = {str(row["id"]): row for row in _jsonl(labels_path)}
    tasks = []
    for row in _jsonl(questions):
        tid = str(row["id"])
        if tid not in labels:
            raise TaskError(f"{labels_path}: no answers for question {tid}")
        answers = [(str(name), str(value)) for name, value in labels[tid].get("common_answers", [])]
        names = row.get("file_name") or []
        files = [tables / str(name) for name in (names if isinstance(names, list) else [names])]
        tasks.append(
            Task(
                id=tid,
                question=str(row.get("question", "")),
                files=files,
                answers=answers,
                level=str(row.get("level", "")),
                constraints=str(row.get("constraints", "")),
                format=str(row.get("format", "")),
            )
        )
    return _checked(tasks)


def _load_native(root: Path, path: Path) -> list[Task]:
    tasks = []
    for row in _jsonl(path):
        answers = row.get("answers")
        if not isinstance(answers, dict) or not answers:
            raise TaskError(f"{path}: task {row['id']} needs answers as {{name: value}}")
        files = [(root / "files" / f) if (root / "files" / f).exists() else root / f for f in row.get("files", [])]
        tolerance = row.get("tolerance")
        tasks.append(
            Task(
                id=str(row["id"]),
                question=str(row.get("question", "")),
                files=files,
                answers=[(str(k), str(v)) for k, v in answers.items()],
                level=str(row.get("level", "")),
                constraints=str(row.get("constraints", "")),
                format=str(row.get("format") or " ".join(f"@{k}[{k}]" for k in answers)),
                tolerance=float(tolerance) if tolerance is not None else None,
            )
        )
    return _checked(tasks)


def _checked(tasks: list[Task]) -> list[Task]:
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise TaskError(f"task id {task.id} appears twice")
        seen.add(task.id)
        if not task.question.strip():
            raise TaskError(f"task {task.id} has no question")
        for path in task.files:
            if not path.is_file():
                raise TaskError(f"task {task.id}: data file {path} does not exist")
    return tasks
