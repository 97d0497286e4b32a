"""Running the model's code in this very kernel, for the ``%%interpret`` magic.

The magic is called synchronously on the kernel's main thread while the kernel's own event loop is busy running
it, so the interpreter loop runs on a worker thread's event loop, and ``InProcessExecutor.execute`` hands each
piece of code back to the main thread, which waits in ``serve``. Code therefore runs where a cell's code runs,
in the user's namespace: variables are shared both ways, and matplotlib, signals and thread-bound libraries
behave as in a normal cell. It never goes through the Jupyter server, which would deadlock on this busy kernel.

Outputs are captured (stdout/stderr, displays, the last expression, errors) as the iopub messages a kernel would
send, and turned into nbformat outputs by the engine's own ``OutputCollector``.

Timeouts and cancels interrupt the main thread the way "interrupt kernel" does: a SIGINT to that thread, i.e. a
KeyboardInterrupt in the running code. Code stuck inside one C call (which ignores signals) finishes that call
first, as with any kernel interrupt. While the code runs, a SIGINT that arrives while the main thread is in our own
capture code (recording an output the code printed) is held until that code returns to the user's, so an
interrupt never loses an output or leaves the capture half-done; it then surfaces in the user's code, as it would.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .capture import Capture
from .events import Output, StepStatus
from .executor import ExecResult, OutputCallback, OutputCollector


@dataclass
class _Job:
    """One execution handed from the worker loop to the main thread."""

    code: str
    on_output: OutputCallback
    timeout: float
    future: asyncio.Future[ExecResult]
    loop: asyncio.AbstractEventLoop
    collector: OutputCollector = field(default_factory=OutputCollector)
    timed_out: bool = False
    #: The run no longer wants this job (cancelled): do not start it, drop its result.
    abandoned: bool = False
    started: bool = False
    resolved: bool = False


class InProcessExecutor:
    """The ``Executor`` of the magic. ``execute``/``interrupt`` run on the worker loop; ``serve`` on the main thread."""

    #: Streams are sent on at most this often (and at every display and at the end), not at every write().
    stream_flush_interval = 0.1
    #: After a timeout's interrupt, interrupt again this often while the code still runs (it may swallow one).
    reinterrupt_interval = 2.0

    def __init__(self, shell: Any, *, after_output: Callable[[], None] | None = None) -> None:
        self.shell = shell
        self.after_output = after_output
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._lock = threading.Lock()
        self._collect_lock = threading.Lock()
        self._running: _Job | None = None
        #: The thread that serves (the main thread in a kernel); the only one we can interrupt.
        self._serving_ident: int | None = None
        #: We sent a SIGINT whose KeyboardInterrupt has not been seen yet: it is not the user's.
        self._own_interrupt = False
        #: The user interrupted: run nothing more.
        self.cancelled = False
        self._on_interrupt: Callable[[], None] | None = None
        self._grace = 5.0
        self._give_up_at: float | None = None
        self._stop_waiting = False
        self._capture: Capture | None = None
        #: How deep the main thread is in our own code while a job runs, and whether a SIGINT waits for it to leave.
        self._shield_depth = 0
        self._held_interrupt = False
        self._job_running = False

    # -- worker side (the interpreter loop) ----------------------------------------------------------

    async def execute(self, code: str, on_output: OutputCallback, timeout: float) -> ExecResult:
        loop = asyncio.get_running_loop()
        job = _Job(code, on_output, timeout, loop.create_future(), loop)
        self._jobs.put(job)
        try:
            return await job.future
        except asyncio.CancelledError:
            with self._lock:
                job.abandoned = True
                if self._running is job:
                    self._interrupt_locked()
            raise

    async def evaluate(self, expression: str, timeout: float | None = 10.0) -> Any:
        """Evaluate ``expression`` in a namespace of its own (file snapshots and profiles): this process is the
        kernel, so it sees the kernel's folder; off the worker loop, so the loop stays responsive."""
        return await asyncio.wait_for(asyncio.to_thread(eval, expression, {}), timeout)

    async def interrupt(self) -> None:
        with self._lock:
            if self._running is not None:
                self._interrupt_locked()

    def _interrupt_locked(self) -> None:
        if self._serving_ident is None or self._serving_ident != threading.main_thread().ident:
            return  # Python runs signal handlers only on the main thread: nothing we can interrupt safely
        self._own_interrupt = True
        if hasattr(signal, "pthread_kill"):
            # A real signal, so that a blocking call (time.sleep, a socket read) wakes up as with Ctrl-C.
            signal.pthread_kill(self._serving_ident, signal.SIGINT)
        else:  # Windows
            _thread.interrupt_main()

    # -- main side ------------------------------------------------------------------------------------

    def serve(
        self,
        done: threading.Event,
        *,
        on_interrupt: Callable[[], None],
        on_idle: Callable[[], None] | None = None,
        poll: float = 0.05,
        grace: float = 5.0,
    ) -> bool:
        """Run jobs on this thread until ``done`` is set; return False if we stopped waiting for it.

        A KeyboardInterrupt that is not ours (Ctrl-C, "interrupt kernel") calls ``on_interrupt`` once; we then wait
        up to ``grace`` seconds for the run to end, or until a second interrupt.
        """
        self._serving_ident = threading.get_ident()
        self._on_interrupt = on_interrupt
        self._grace = grace
        while not done.is_set() and not self._stop_waiting:
            if self._give_up_at is not None and time.monotonic() > self._give_up_at:
                return False
            job: _Job | None = None
            try:
                job = self._next_job(poll)
                if on_idle is not None:
                    on_idle()
                if job is not None:
                    self._run_job(job)
            except KeyboardInterrupt:
                # It may land anywhere on this thread, even around a job: never leave a job unanswered.
                own = self._take_own_interrupt()
                if job is not None and not job.resolved:
                    if job.started:
                        self._finish(job, interrupted=True, own=own)
                        continue
                    self._jobs.put(job)  # it never ran: run it next, or cancel it
                if not own:
                    self._user_interrupted()
        return not self._stop_waiting

    def _user_interrupted(self) -> None:
        if self.cancelled:
            self._stop_waiting = True  # interrupted again while cancelling
            return
        self.cancelled = True
        self._give_up_at = time.monotonic() + self._grace
        if self._on_interrupt is not None:
            self._on_interrupt()

    def _next_job(self, poll: float) -> _Job | None:
        try:
            job = self._jobs.get(timeout=poll)
        except queue.Empty:
            return None
        if job.abandoned:
            return None
        if self.cancelled:
            job.resolved = True
            self._resolve(job, ExecResult("cancelled"))
            return None
        return job

    def _take_own_interrupt(self) -> bool:
        with self._lock:
            own, self._own_interrupt = self._own_interrupt, False
        return own

    def _resolve(self, job: _Job, result: ExecResult) -> None:
        def settle() -> None:
            if not job.future.done():
                job.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the worker loop is gone: nobody is waiting
            job.loop.call_soon_threadsafe(settle)

    def _run_job(self, job: _Job) -> None:
        """Run one job here and answer it."""
        with self._lock:
            if job.abandoned:
                job.resolved = True
                return
            self._running = job
            job.started = True
        threading.Thread(target=self._watch_timeout, args=(job,), name="codeinterp-timeout", daemon=True).start()
        try:
            interrupted = self._execute_here(job)
        except KeyboardInterrupt:  # landed outside the user's code (IPython catches it inside)
            interrupted = True
        own = self._take_own_interrupt() if interrupted else False
        self._finish(job, interrupted=interrupted, own=own)

    def _finish(self, job: _Job, *, interrupted: bool, own: bool) -> None:
        """Answer the job with what it produced; an interrupt of the user's also cancels the run."""
        if self._capture is not None:
            self._capture.flush()
            self._capture.restore()
        with self._lock:
            if self._running is job:
                self._running = None
        outputs = job.collector.final_outputs()
        if interrupted and not any(o.get("ename") == "KeyboardInterrupt" for o in outputs):
            outputs.append({"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []})
        user_interrupt = interrupted and not own and not job.timed_out
        status: StepStatus
        message = ""
        if user_interrupt:
            status = "cancelled"
        elif job.timed_out:
            status = "timeout"
            message = f"Execution timed out after {job.timeout:g} s and was interrupted (KeyboardInterrupt)."
        else:
            status = "error" if any(o.get("output_type") == "error" for o in outputs) else "ok"
        if user_interrupt:
            self._user_interrupted()  # before answering, so the loop never starts another model turn
        self._resolve(job, ExecResult(status, outputs, None, message))
        job.resolved = True

    def _watch_timeout(self, job: _Job) -> None:
        deadline = time.monotonic() + job.timeout
        while True:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            with self._lock:
                if self._running is not job:
                    return
                if time.monotonic() >= deadline:
                    job.timed_out = True
                    self._interrupt_locked()
                    deadline = time.monotonic() + self.reinterrupt_interval

    def _hold_sigint(self, signum: int, frame: Any) -> None:
        """SIGINT while the serving thread is in our own code: hold it until the code is back in the user's."""
        self._held_interrupt = True

    @contextlib.contextmanager
    def _shielded(self) -> Any:
        """Our own code on the serving thread while a job runs: an interrupt waits until we are done.

        Only here is the SIGINT handler ours; elsewhere the kernel's own handler raises KeyboardInterrupt right in
        the user's code, with no frame of ours in their traceback.
        """
        if not self._job_running or threading.get_ident() != threading.main_thread().ident:
            yield
            return
        self._shield_depth += 1
        previous = signal.signal(signal.SIGINT, self._hold_sigint) if self._shield_depth == 1 else None
        try:
            yield
        finally:
            self._shield_depth -= 1
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if not self._shield_depth and self._held_interrupt:
            self._held_interrupt = False
            raise KeyboardInterrupt

    def _execute_here(self, job: _Job) -> bool:
        """Run the code through the shell with its outputs captured. Return True if it was interrupted."""
        shell = self.shell
        self._capture = Capture(
            shell, job.code, lambda msg: self._deliver(job, msg), self.stream_flush_interval, self._shielded
        )
        in_loop = asyncio._get_running_loop() is not None  # a kernel: its loop is busy running this cell
        saved_runner = shell.loop_runner
        self._job_running = True
        try:
            interrupted = self._run_cell_captured(job, in_loop, saved_runner)
        finally:
            self._job_running = False
        held, self._held_interrupt = self._held_interrupt, False  # came as the code finished: still an interrupt
        return interrupted or held

    def _run_cell_captured(self, job: _Job, in_loop: bool, saved_runner: Any) -> bool:
        shell = self.shell
        assert self._capture is not None
        with self._capture as capture:
            if in_loop:
                shell.loop_runner = _run_awaiting
            try:
                result = shell.run_cell(job.code, store_history=False, silent=False)
            finally:
                if in_loop:
                    shell.loop_runner = saved_runner
            capture.flush()
        error = result.error_in_exec or result.error_before_exec
        return isinstance(error, KeyboardInterrupt)

    def _deliver(self, job: _Job, msg: dict[str, Any]) -> None:
        """An output of the running code: keep it, send it live to the run, refresh the display."""
        with self._shielded():
            self._deliver_now(job, msg)

    def _deliver_now(self, job: _Job, msg: dict[str, Any]) -> None:
        with self._collect_lock:  # a thread the code started may print too
            live = job.collector.handle(msg)
        if live is None or job.abandoned:
            return
        try:
            future = asyncio.run_coroutine_threadsafe(_call(job.on_output, live), job.loop)
        except RuntimeError:
            return  # the worker loop is gone
        if threading.get_ident() == self._serving_ident:
            with contextlib.suppress(Exception):
                future.result(timeout=5)
            if self.after_output is not None:
                self.after_output()


_await_loop: asyncio.AbstractEventLoop | None = None


def _run_awaiting(coro: Any) -> Any:
    """Runs code with top-level ``await``. In a kernel, IPython would use the kernel's event loop, which is busy
    running the magic; use a loop of our own instead (one per kernel, so objects bound to it live on)."""
    global _await_loop
    if _await_loop is None or _await_loop.is_closed():
        _await_loop = asyncio.new_event_loop()
    running = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        return _await_loop.run_until_complete(coro)
    finally:
        asyncio._set_running_loop(running)


async def _call(callback: OutputCallback, output: Output) -> None:
    await callback(output)
