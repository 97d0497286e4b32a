"""Approval mode ``ask`` in ``%%interpret``: the question goes to the user through the kernel's own ``input()``.

The loop runs on a worker thread and the magic's main thread serves it (``InProcessExecutor.serve``); a kernel
answers ``input()`` (an ``input_request`` to the frontend) only on the main thread, inside the cell's execution. So the
questions are handed to the main thread, which asks them between two executions. A frontend that cannot answer
input (nbclient, papermill) stops the run before anything runs, saying so.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .terminal_approval import TerminalApproval

T = TypeVar("T")

NO_INPUT = (
    "codeinterp: this frontend cannot answer input(), so approval mode 'ask' cannot ask you: nothing ran. "
    "Run the notebook in JupyterLab, or use the sidebar or `jupyter codeinterp run --ask`."
)


class MainThreadCalls:
    """Functions that other threads need run on the serving (main) thread; it runs them in ``run_pending``."""

    def __init__(self) -> None:
        self._pending: queue.Queue[tuple[Callable[[], Any], list[Any], threading.Event]] = queue.Queue()

    def call(self, work: Callable[[], T]) -> T:
        """Run ``work()`` on the main thread and return its result (or raise its error); from another thread."""
        box: list[Any] = []
        done = threading.Event()
        self._pending.put((work, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]  # type: ignore[no-any-return]

    def run_pending(self) -> None:
        """On the main thread: run what is waiting. An interrupt there (Ctrl-C while asked) ends the question
        (the asker sees EOFError: stop) and is raised on, so that the run is cancelled as usual."""
        while True:
            try:
                work, box, done = self._pending.get_nowait()
            except queue.Empty:
                return
            try:
                box.append(work())
            except KeyboardInterrupt:
                box.append(EOFError("interrupted"))
                done.set()
                raise
            except BaseException as exc:
                box.append(exc)
            done.set()


def kernel_approval(calls: MainThreadCalls) -> TerminalApproval:
    """Each step's code shown in the cell's output and the answer asked with ``input()``, on the main thread."""

    def ask(prompt: str) -> str:
        from IPython.core.error import StdinNotImplementedError

        try:
            return calls.call(lambda: input(prompt))
        except StdinNotImplementedError:
            calls.call(lambda: print(NO_INPUT, flush=True))
            raise EOFError("no input") from None

    def show(text: str) -> None:
        calls.call(lambda: print(text, flush=True))

    return TerminalApproval(ask, show)
