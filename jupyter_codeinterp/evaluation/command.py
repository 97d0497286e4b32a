"""The ``eval`` subcommand's arguments and entry point (registered by cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ..config import ConfigError, configure


def add_eval_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "eval", help="run a task set (DABench layout or native) and score the answers (docs/eval.md)"
    )
    parser.add_argument("tasks", metavar="TASKS", help="task folder (e.g. evals/tasks, or a DABench download)")
    parser.add_argument("--model", help="model name (default: $CODEINTERP_MODEL or config)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL or config)")
    parser.add_argument("--concurrency", type=int, default=1, help="tasks run at once, one kernel each (default 1)")
    parser.add_argument("--limit", type=int, help="run only the first K tasks")
    parser.add_argument("--out", default="eval-out", help="results folder; re-running resumes it (default eval-out)")
    parser.add_argument("--max-steps", type=int, help="most code executions per task (default 20)")
    parser.add_argument("--task-timeout", type=float, default=600.0, help="seconds one task may take (default 600)")


def run(args: argparse.Namespace) -> int:
    from .runner import run_eval
    from .scoring import table
    from .tasks import TaskError, load_tasks

    try:
        tasks = load_tasks(args.tasks)
        if args.limit is not None and args.limit < 1:
            raise TaskError("--limit must be at least 1")
        if args.concurrency < 1:
            raise TaskError("--concurrency must be at least 1")
        config = configure(model=args.model, max_steps=args.max_steps)
        if args.base_url:
            config.base_url = args.base_url
        config.check()
    except (TaskError, ConfigError) as exc:
        print(f"codeinterp: {exc}", file=sys.stderr, flush=True)
        return 2
    out = Path(args.out)
    summary = asyncio.run(
        run_eval(tasks, config, out, concurrency=args.concurrency, limit=args.limit, task_timeout=args.task_timeout)
    )
    print(table(summary))
    print(f"results: {out / 'results.jsonl'}, summary: {out / 'summary.json'}, notebooks: {out / 'tasks'}")
    return 0
