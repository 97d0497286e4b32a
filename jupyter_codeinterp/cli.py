"""``jupyter codeinterp run NOTEBOOK --prompt TEXT``: the interpreter loop, headless, recorded into a notebook.

A thin door onto the engine: it starts a kernel from the notebook's kernelspec in the notebook's folder, runs one
prompt, appends the prompt, each executed step and the answer to the notebook, and exits 0 only on completion.
``jupyter codeinterp doctor`` checks the install and the model endpoint (see doctor.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import Any, TextIO

from .attachments import AttachmentError, copy_into
from .budgets import Amounts, add_run, budget_for, describe_spending
from .config import CodeInterpreter, ConfigError, configure
from .filetrack import FileTracker
from .hooks import chain

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter codeinterp",
        description="A local Code Interpreter: an LLM writes Python and runs it in a Jupyter kernel.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run one prompt and record it into a notebook")
    run.add_argument("notebook", metavar="NOTEBOOK", help="notebook to append to (created if missing)")
    run.add_argument("--prompt", required=True, help="what to ask (use - to read it from standard input)")
    run.add_argument("--model", help="model name (default: $CODEINTERP_MODEL or config)")
    run.add_argument("--max-steps", type=int, help="most code executions before stopping (default 20)")
    run.add_argument("--timeout", type=float, help="seconds one execution may take (default 120)")
    run.add_argument("--max-tokens", type=int, help="token budget of this run (default: max_run_tokens, 0 = none)")
    run.add_argument("--max-seconds", type=float, help="wall-clock budget of this run in seconds (default: none)")
    run.add_argument("--max-cost", type=float, help="estimated-cost budget of this run in USD (needs a price)")
    run.add_argument("--json", action="store_true", help="print every event as one JSON line on stdout")
    run.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="PATH",
        help="attach a file: copied into the notebook's folder and profiled for the model (repeatable)",
    )
    run.add_argument("--overwrite", action="store_true", help="let --file replace a file of that name in the folder")
    run.add_argument(
        "--ask",
        action="store_true",
        help="approval mode: show each step's code and ask run / edit / skip / stop on stdin before it runs",
    )
    doctor = commands.add_parser(
        "doctor", help="check the install and the model endpoint, and say what to fix (exit 1 if a check fails)"
    )
    doctor.add_argument("--model", help="model to check (default: $CODEINTERP_MODEL or config)")
    doctor.add_argument("--kernel", default="python3", help="kernel to start (default python3)")
    from . import sandbox

    sandbox.add_parser(commands)
    from .evaluation.command import add_eval_parser

    add_eval_parser(commands)
    return parser


STAGE_LABELS = {"code_delta": "writing code", "in_progress": "running"}


class Progress:
    """Human progress on stderr: one line per stage change, not per streamed token."""

    def __init__(self, stream: TextIO, max_steps: int) -> None:
        self.stream = stream
        self.max_steps = max_steps
        self._last: tuple[int, str] | None = None
        #: The files the run's steps created or changed, in order.
        self.written: list[str] = []

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "step":
            key = (event["step"], event["stage"])
            if key == self._last:
                return
            self._last = key
            label = f"[step {event['step']}/{self.max_steps}]"
            stage = event["stage"]
            if stage == "completed":
                extra = f" {event.get('status')} in {event.get('elapsed', 0):.2f} s"
                if event.get("execution_count") is not None:
                    extra += f" (In [{event['execution_count']}])"
                self._print(f"{label} completed:{extra}")
                if event.get("files"):
                    self.written.extend(f["path"] for f in event["files"] if f["path"] not in self.written)
                    self._print(f"{label} wrote: " + ", ".join(f["path"] for f in event["files"]))
            else:
                self._print(f"{label} {STAGE_LABELS.get(stage, stage)}")
        elif kind == "kernel_restarted":
            self._print(f"[kernel] {event['message']}")
        elif kind == "notice":
            self._print(f"[{event['level']}] {event['message']}")
        elif kind == "run_ended":
            usage = event["usage"]
            spent = describe_spending(usage["total_tokens"], bool(usage.get("estimated")), usage.get("cost_usd"))
            self._print(f"[run] {event['status']} after {event['steps']} step(s), {spent}")

    def say(self, line: str) -> None:
        self._print(line)

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


async def run_notebook(args: argparse.Namespace, config: CodeInterpreter) -> int:
    from jupyter_client.kernelspec import NoSuchKernel
    from jupyter_client.manager import AsyncKernelManager

    from .clients import close_clients, shared_client
    from .executor import KernelExecutor
    from .loop import Interpreter, new_id
    from .notebook import RunRecorder, is_checkpoint, read_notebook, write_notebook

    path = os.path.abspath(args.notebook)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        return fail(f"the folder of {args.notebook} does not exist", EXIT_USAGE)
    try:
        nb = read_notebook(path)
    except ValueError as exc:
        return fail(str(exc), EXIT_USAGE)
    try:
        attached = [copy_into(f, folder, overwrite=args.overwrite, max_bytes=config.max_file_bytes) for f in args.file]
    except (AttachmentError, OSError) as exc:
        return fail(str(exc), EXIT_USAGE)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    km = AsyncKernelManager(kernel_name=kernel_name)
    try:
        await km.start_kernel(cwd=folder)
    except NoSuchKernel:
        return fail(f"no kernel named {kernel_name!r} is installed (see `jupyter kernelspec list`)", EXIT_USAGE)

    progress = Progress(sys.stderr, config.max_steps)
    recorder = RunRecorder(nb)
    run_id = new_id("run")

    stdout_open = True

    def on_event(event: dict[str, Any]) -> None:
        nonlocal stdout_open
        if args.json and stdout_open:
            try:
                print(json.dumps(event), flush=True)
            except BrokenPipeError:  # the reader left (e.g. `| head`): keep running, keep recording
                stdout_open = False
        progress(event)
        if recorder.apply(event) and is_checkpoint(event):
            write_notebook(nb, path)

    executor = KernelExecutor(km)
    approval = None
    if args.ask or config.approval == "ask":
        from .terminal_approval import stdin_approval

        approval = stdin_approval()
    # The notebook's earlier runs are its thread: what they spent counts against the thread budgets.
    meta = nb.metadata.setdefault("codeinterp", {})
    spent_before = meta.get("usage")
    budget = budget_for(config, Amounts.of(spent_before) if spent_before else None)
    tracker = FileTracker([os.path.join(folder, name) for name in attached])
    tracker.bind(executor.evaluate)
    hooks = chain(budget, approval, tracker)
    interp = Interpreter(config, executor, client=shared_client(config), hooks=hooks)
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        interp.cancel()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    started = time.monotonic()
    try:
        result = await interp.run(
            args.prompt, messages=[], emit=on_event, run_id=run_id, workdir=folder, files=attached
        )
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        executor.close()
        await close_clients()
        await km.shutdown_kernel(now=True)
    executed = result.state.executed if result.state else 0
    totals = add_run(spent_before, result.usage, executed, time.monotonic() - started)
    meta["usage"] = totals
    write_notebook(nb, path)
    if progress.written:
        progress.say("[files] written by this run: " + ", ".join(progress.written))
    thread_cost = totals["cost"] if totals["priced"] else None
    progress.say(
        f"[notebook] {totals['runs']} run(s) so far: {totals['steps']} step(s), "
        + describe_spending(totals["tokens"], totals["estimated"], thread_cost)
    )
    if result.status == "completed":
        if not args.json:
            print(result.answer)
        return 0
    if interrupted:
        return fail("interrupted: the run was cancelled", EXIT_INTERRUPTED)
    return fail(f"run {result.status}: {result.reason}", EXIT_FAILED)


def fail(reason: str, code: int) -> int:
    print(f"codeinterp: {reason}", file=sys.stderr, flush=True)
    return code


def make_config(args: argparse.Namespace) -> CodeInterpreter:
    config = configure(model=args.model, max_steps=args.max_steps, timeout=args.timeout)
    budgets = {"max_run_tokens": args.max_tokens, "max_run_seconds": args.max_seconds, "max_run_cost": args.max_cost}
    for name, value in budgets.items():
        if value is not None:
            setattr(config, name, value)
    config.check()
    return config


def doctor(args: argparse.Namespace) -> int:
    from . import doctor

    try:
        config = configure(model=args.model)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    return doctor.main(config, args.kernel)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        return doctor(args)
    if args.command == "install-sandbox-kernel":
        from . import sandbox

        return sandbox.install(args)
    if args.command == "eval":
        from .evaluation import command

        return command.run(args)
    if args.prompt == "-":
        if args.ask:
            return fail("--ask reads its answers from standard input: give the prompt with --prompt TEXT", EXIT_USAGE)
        args.prompt = sys.stdin.read()
    if not args.prompt.strip():
        return fail("the prompt is empty", EXIT_USAGE)
    try:
        config = make_config(args)
    except ConfigError as exc:
        return fail(str(exc), EXIT_USAGE)
    return asyncio.run(run_notebook(args, config))


if __name__ == "__main__":
    sys.exit(main())
