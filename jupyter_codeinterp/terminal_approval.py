"""Approval mode ``ask`` on a terminal (``jupyter codeinterp run --ask``, ``%%interpret --ask``): each step's code is
shown and the user answers run / edit / skip / stop on standard input.

The question is asked on a daemon thread, so a run cancelled meanwhile (Ctrl-C) never waits for a line of input.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from .approval import AskBeforeRunning, Verdict

T = TypeVar("T")

QUESTION = "Run this step? [r]un / [e]dit / [s]kip / s[t]op: "
ANSWERS: dict[str, str] = {"r": "run", "run": "run", "e": "edit", "edit": "edit", "s": "skip", "skip": "skip"}
ANSWERS.update({"t": "stop", "stop": "stop"})
END_OF_CODE = "."


class TerminalApproval(AskBeforeRunning):
    """Ask with ``ask(prompt) -> line`` (raising ``EOFError`` when input is closed), show text with ``show``."""

    def __init__(self, ask: Callable[[str], str], show: Callable[[str], None]) -> None:
        super().__init__()
        self._ask = ask
        self._show = show

    async def decide(self, step: int, code: str) -> Verdict:
        return await _on_daemon_thread(lambda: self._prompt(step, code))

    def _prompt(self, step: int, code: str) -> Verdict:
        rule = "-" * 60
        self._show(f"\n{rule}\nStep {step} wants to run this code:\n{rule}\n{code}\n{rule}")
        try:
            while True:
                action = ANSWERS.get(self._ask(QUESTION).strip().lower())
                if action == "run":
                    return Verdict("run")
                if action == "stop":
                    return Verdict("stop")
                if action == "skip":
                    return Verdict("skip", reason=self._ask("Why? (optional, told to the model): ").strip())
                if action == "edit":
                    edited = self._edited()
                    if edited.strip():
                        return Verdict("edit", code=edited)
                    self._show("The edited code is empty.")
                    continue
                self._show("Please answer run, edit, skip or stop (r, e, s, t).")
        except EOFError:
            self._show("No more input: stopping the run.")
            return Verdict("stop")

    def _edited(self) -> str:
        self._show(f"Type the code to run instead; end with a line holding only {END_OF_CODE!r}.")
        lines: list[str] = []
        while (line := self._ask("")) != END_OF_CODE:
            lines.append(line)
        return "\n".join(lines)


async def _on_daemon_thread(work: Callable[[], T]) -> T:
    """``work()`` on a thread of its own that never holds up the process's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def target() -> None:
        try:
            value = work()
        except BaseException as exc:  # handed to the awaiting task
            loop.call_soon_threadsafe(deliver, None, exc)
        else:
            loop.call_soon_threadsafe(deliver, value, None)

    threading.Thread(target=target, name="codeinterp-approval", daemon=True).start()
    return await future


def stdin_approval() -> TerminalApproval:
    """Questions and code on standard error, answers from standard input (stdout may carry ``--json`` events)."""
    import sys

    def ask(prompt: str) -> str:
        if prompt:
            print(prompt, end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return TerminalApproval(ask, lambda text: print(text, file=sys.stderr, flush=True))
