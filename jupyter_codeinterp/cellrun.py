"""One ``%%interpret`` run: the interpreter loop on a worker thread, the code on this thread, a live display.

The kernel's own event loop is busy running the magic, so the loop gets its own event loop on a worker thread;
this (main) thread waits in ``InProcessExecutor.serve``, running the model's code when asked and refreshing the
display in between. Ctrl-C / "interrupt kernel" lands here as a KeyboardInterrupt and cancels the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .cell_approval import MainThreadCalls
from .clients import shared_client
from .config import CodeInterpreter
from .filetrack import FileTracker
from .hooks import RunHooks
from .inprocess import InProcessExecutor
from .loop import Interpreter, Message, RunResult, new_id
from .transcript import run_bundle, to_plain


class LiveDisplay:
    """The run's one updating display, rebuilt from its events, throttled (code streams in many small pieces).

    ``live``: a frontend that can update displays (any kernel client). Otherwise (IPython in a terminal) the
    plain transcript is printed piece by piece as parts of the run finish.
    """

    def __init__(self, shell: Any, run_id: str, *, live: bool, interval: float = 0.25, show_after: float = 1.0) -> None:
        self.run_id = run_id
        self.live = live
        self.interval = interval
        #: Show nothing before the run has something to show (or this long), so that a run failing at once
        #: (bad key) leaves just its one-line error.
        self.show_after = show_after
        self.events: list[dict[str, Any]] = []
        self._publisher = shell.display_pub  # the real one: the code's outputs go through a capturing stand-in
        self._stdout = sys.stdout
        self._display_id = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._version = 0
        self._shown_version = 0
        self._shown = False
        self._last = 0.0
        self._created = time.monotonic()
        self._printed = ""
        self._busy = False

    def add(self, event: dict[str, Any]) -> None:
        """The event sink of the loop (worker thread)."""
        with self._lock:
            self.events.append(event)
            self._version += 1

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    @property
    def has_content(self) -> bool:
        return any(e["type"] in ("step", "text_delta") for e in self.snapshot())

    def refresh(self, *, force: bool = False) -> None:
        """Show the latest state if it changed and the last update is old enough (main thread)."""
        if self._busy:  # publishing flushes the streams, whose outputs ask for a refresh: not again
            return
        now = time.monotonic()
        if not force and (self._version == self._shown_version or now - self._last < self.interval):
            return
        if not self._shown and not force and not self.has_content and now - self._created < self.show_after:
            return
        self._busy = True
        try:
            version = self._version
            events = self.snapshot()
            if self.live:
                self._publish(run_bundle(self.run_id, events))
            else:
                self._print(to_plain(events, finished_only=not force))
            self._shown_version, self._last = version, time.monotonic()
        finally:
            self._busy = False

    def blank(self) -> None:
        """Take back what was shown (a run that failed before doing anything: its error line says it all)."""
        if self.live and self._shown:
            self._publish({"text/plain": ""})

    def _publish(self, bundle: dict[str, Any]) -> None:
        transient = {"display_id": self._display_id}
        self._publisher.publish(data=bundle, metadata={}, transient=transient, update=self._shown)
        self._shown = True

    def _print(self, text: str) -> None:
        if not text.startswith(self._printed):  # cannot happen for finished parts; print it whole then
            self._printed = ""
        new, self._printed = text[len(self._printed) :], text
        if new.strip() and "\n\n" in text:  # more than the header: something happened
            self._stdout.write(new if self._shown else text)
            self._stdout.flush()
            self._shown = True


#: The event loop runs are driven on, kept across runs so that their model client and its connections are too.
_loop: asyncio.AbstractEventLoop | None = None


def _run_loop() -> asyncio.AbstractEventLoop:
    """The kept loop; a new one if the last run was abandoned still running on it."""
    global _loop
    if _loop is None or _loop.is_closed() or _loop.is_running():
        _loop = asyncio.new_event_loop()
    return _loop


def _warm_up() -> None:
    """Import what the first output needs (nbformat takes a second or more) while the model thinks."""
    with contextlib.suppress(Exception):
        import nbformat.v4  # noqa: F401


@dataclass
class CellRun:
    """How one run in a cell ended."""

    result: RunResult | None = None
    #: An error of ours (not of the run) that escaped the loop.
    error: BaseException | None = None
    #: We stopped waiting for a run that did not end after a cancel.
    abandoned: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


def run_in_cell(
    shell: Any,
    config: CodeInterpreter,
    prompt: str,
    *,
    messages: list[Message],
    thread_id: str,
    live: bool,
    interval: float = 0.25,
    hooks: RunHooks | None = None,
    calls: MainThreadCalls | None = None,
    tracker: FileTracker | None = None,
) -> tuple[CellRun, LiveDisplay]:
    """Run ``prompt`` to its end with the code executing on this thread; return how it ended and its display.

    ``calls``: what the hooks need done on this thread (approval's questions), run while it waits."""
    run_id = new_id("run")
    display = LiveDisplay(shell, run_id, live=live, interval=interval)
    executor = InProcessExecutor(shell, after_output=display.refresh)
    loop = _run_loop()
    interpreter = Interpreter(config, executor, client=shared_client(config, loop), hooks=hooks)
    if tracker is not None:
        tracker.bind(executor.evaluate)  # the files the code writes, seen from this very process
    done = threading.Event()
    outcome = CellRun()
    workdir = os.getcwd()

    def work() -> None:
        try:
            outcome.result = loop.run_until_complete(
                interpreter.run(
                    prompt, messages=messages, emit=display.add, run_id=run_id, thread_id=thread_id, workdir=workdir
                )
            )
        except BaseException as exc:
            outcome.error = exc
        finally:
            done.set()  # the loop is kept (not closed) for the next run

    def cancel() -> None:
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(interpreter.cancel)

    threading.Thread(target=_warm_up, name="codeinterp-imports", daemon=True).start()
    worker = threading.Thread(target=work, name="codeinterp-loop", daemon=True)
    worker.start()

    def idle() -> None:
        if calls is not None:
            calls.run_pending()
        display.refresh()

    outcome.abandoned = not executor.serve(done, on_interrupt=cancel, on_idle=idle)
    outcome.events = display.snapshot()
    return outcome, display
