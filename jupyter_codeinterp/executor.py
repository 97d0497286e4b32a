"""Running one piece of code in a Jupyter kernel and collecting everything it produces.

``Executor`` is what the loop needs; ``KernelExecutor`` implements it with jupyter_client for any kernel manager
(the CLI's own ``AsyncKernelManager``, or the server's ``kernel_manager.get_kernel(id)``, gateway kernels included).
The ``%%interpret`` magic has its own in-process implementation.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import queue
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import Output, StepStatus
from .outputs import OutputList

log = logging.getLogger(__name__)

OutputCallback = Callable[[Output], Awaitable[None]]


class KernelUnavailable(RuntimeError):
    """The kernel cannot run code (it does not answer, or died for good); the run cannot go on."""


class KernelRestartFailed(KernelUnavailable):
    """The kernel died and could not be brought back."""


@dataclass
class ExecResult:
    status: StepStatus
    outputs: list[Output] = field(default_factory=list)
    execution_count: int | None = None
    #: For timeout / kernel_restarted: what happened, in words for the user and the model.
    message: str = ""
    #: The files the step created or changed in the working folder (``filetrack``), and whether that list is partial.
    files: list[dict[str, Any]] = field(default_factory=list)
    files_truncated: bool = False


class Executor(Protocol):
    async def execute(self, code: str, on_output: OutputCallback, timeout: float) -> ExecResult:
        """Run ``code``; call ``on_output`` for each output as it arrives; never raise for user-code errors."""
        ...

    async def interrupt(self) -> None: ...


class OutputCollector:
    """Applies iopub messages to a step's outputs: ``OutputList`` settling, plus display updates by display id."""

    def __init__(self) -> None:
        self._outputs = OutputList()
        self.execution_count: int | None = None

    @property
    def outputs(self) -> list[Output]:
        return self._outputs.items

    def handle(self, msg: dict[str, Any]) -> Output | None:
        """Apply one iopub message; return the new output to show live, if any."""
        from nbformat.v4 import output_from_msg

        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "execute_input":
            self.execution_count = content.get("execution_count")
            return None
        if kind == "clear_output":
            clear = {"output_type": "clear_output", "wait": bool(content.get("wait"))}
            self._outputs.add(clear)
            return clear
        if kind == "update_display_data":
            display_id = content.get("transient", {}).get("display_id")
            items = self._outputs.items
            for i, out in enumerate(items):
                if display_id and out.get("_display_id") == display_id:
                    items[i] = {**out, "data": content["data"], "metadata": content.get("metadata", {})}
            return None
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return None
        if kind == "execute_result":
            self.execution_count = content.get("execution_count", self.execution_count)
        out = dict(output_from_msg(msg))  # type: ignore[no-untyped-call]
        live = dict(out)
        display_id = content.get("transient", {}).get("display_id")
        if display_id:
            out["_display_id"] = display_id
        self._outputs.add(out)
        return live

    def final_outputs(self) -> list[Output]:
        return [{k: v for k, v in o.items() if k != "_display_id"} for o in self._outputs.items]


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class KernelExecutor:
    """Executes code through a jupyter_client kernel manager, detecting timeouts and kernel death."""

    #: How often to check that the kernel is alive while it is silent.
    poll_interval = 0.5
    #: After an interrupt for timeout, how long to wait for the kernel to go idle.
    interrupt_grace = 5.0
    #: How long a kernel may take to answer its first request.
    ready_timeout = 60.0

    def __init__(
        self,
        kernel_manager: Any,
        *,
        restart: Callable[[], Awaitable[Any]] | None = None,
        autorestart_grace: float | None = None,
    ) -> None:
        self.km = kernel_manager
        self._restart = restart
        # A manager with an auto-restarter (the server's) brings a dead kernel back by itself: give it time.
        if autorestart_grace is None:
            has_restarter = getattr(kernel_manager, "autorestart", False) and getattr(
                kernel_manager, "_restarter", None
            )
            autorestart_grace = 8.0 if has_restarter else 0.0
        self.autorestart_grace = autorestart_grace
        self._client: Any = None
        #: The kernel process the client was made for: a client outliving a restart is made again.
        self._client_identity: Any = None

    # -- kernel identity and liveness ---------------------------------------------------------------

    def _identity(self) -> Any:
        """The kernel's process (or provisioner) object, compared with ``is``: a restart makes a new one.
        None for kernels with no local process (a gateway's)."""
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return process if process is not None else provisioner

    @property
    def client(self) -> Any:
        """The open kernel client, if there is one (made at the first request, kept until ``close``)."""
        return self._client

    @property
    def reusable(self) -> bool:
        """Whether a restart between runs can be told from here, so that the client may be kept across runs."""
        return self._identity() is not None

    async def _alive(self) -> bool:
        try:
            return bool(await _maybe_await(self.km.is_alive()))
        except Exception:
            return False

    async def _get_client(self) -> Any:
        if self._client is not None and self._identity() is not self._client_identity:
            self.close()  # the kernel was restarted since (by a user, or its restarter): its sockets are new
        if self._client is None:
            identity = self._identity()
            client = self.km.client()
            await _maybe_await(client.start_channels())  # a coroutine for gateway kernels' clients
            try:
                # Waits for iopub to be subscribed too, so the first outputs are not lost.
                await client.wait_for_ready(timeout=self.ready_timeout)
            except RuntimeError as exc:
                client.stop_channels()
                raise KernelUnavailable(f"The kernel did not answer within {self.ready_timeout:g} s.") from exc
            except asyncio.CancelledError:
                client.stop_channels()
                raise
            self._client, self._client_identity = client, identity
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.stop_channels()
            finally:
                self._client = self._client_identity = None

    async def interrupt(self) -> None:
        await _maybe_await(self.km.interrupt_kernel())

    async def _recover(self, restarted: bool = False) -> str:
        """The kernel died: wait for the auto-restarter (``restarted``: it has said it did), or restart it
        ourselves. Raise if it cannot be."""
        self.close()
        if restarted and await self._alive():
            return "The kernel died and was restarted automatically."
        deadline = time.monotonic() + self.autorestart_grace
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            if await self._alive():
                return "The kernel died and was restarted automatically."
        try:
            if self._restart is not None:
                await self._restart()
            else:
                await _maybe_await(self.km.restart_kernel(now=True))
        except Exception as exc:
            raise KernelRestartFailed(f"The kernel died and could not be restarted: {exc}") from exc
        if not await self._alive():
            raise KernelRestartFailed("The kernel died and could not be restarted.")
        return "The kernel died and was restarted."

    # -- execution ---------------------------------------------------------------------------------

    async def execute(self, code: str, on_output: OutputCallback, timeout: float) -> ExecResult:
        if not await self._alive():
            message = await self._recover()
            return ExecResult("kernel_restarted", message=message + " The code was not run.")
        client = await self._get_client()
        identity = self._identity()
        collector = OutputCollector()
        msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=False)
        started = time.monotonic()
        timed_out = False
        idle = False
        try:
            while not idle:
                now = time.monotonic()
                if not timed_out and now - started > timeout:
                    timed_out = True
                    timeout_at = now
                    await self.interrupt()
                if timed_out and now - timeout_at > self.interrupt_grace:
                    break
                try:
                    msg = await client.get_iopub_msg(timeout=self.poll_interval)
                except queue.Empty:
                    if not await self._alive() or self._identity() is not identity:
                        return await self._died(collector)
                    continue
                state = msg["content"].get("execution_state") if msg["header"]["msg_type"] == "status" else None
                if state in ("restarting", "dead"):
                    # Said by a gateway (whose kernels have no local process to watch) to every client: its
                    # restarter brought the kernel back, or ("dead") could not.
                    return await self._died(collector, restarted=state == "restarting")
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg["header"]["msg_type"] == "status":
                    idle = msg["content"].get("execution_state") == "idle"
                    continue
                live = collector.handle(msg)
                if live is not None:
                    await on_output(live)
        except asyncio.CancelledError:
            # Leave the kernel free for the next run; the caller reports the cancellation.
            await asyncio.shield(self._interrupt_quietly())
            raise
        outputs = collector.final_outputs()
        if timed_out:
            return ExecResult(
                "timeout",
                outputs,
                collector.execution_count,
                f"Execution timed out after {timeout:g} s and the kernel was interrupted.",
            )
        status: StepStatus = "error" if any(o.get("output_type") == "error" for o in outputs) else "ok"
        return ExecResult(status, outputs, collector.execution_count)

    async def _died(self, collector: OutputCollector, restarted: bool = False) -> ExecResult:
        message = await self._recover(restarted)
        return ExecResult(
            "kernel_restarted",
            collector.final_outputs(),
            collector.execution_count,
            message + " All variables, imports and kernel state were lost.",
        )

    async def working_directory(self, timeout: float = 5.0) -> str | None:
        """The kernel's current directory, asked silently (no output, no execution count), which for a remote
        kernel is not the server's; None if the kernel does not say within ``timeout``."""
        try:
            return await asyncio.wait_for(self._ask_cwd(), timeout)
        except Exception:  # a busy or non-Python kernel: the model is told "the kernel's current directory"
            log.debug("could not ask the kernel for its working directory", exc_info=True)
            return None

    async def _ask_cwd(self) -> str | None:
        value = await self.evaluate("__import__('os').getcwd()", timeout=None)
        return value if isinstance(value, str) else None

    async def evaluate(self, expression: str, timeout: float | None = 10.0) -> Any:
        """The value of a Python ``expression`` (a literal) evaluated in the kernel silently, as a user expression:
        no output, no execution count, nothing in the history. Raises if the kernel does not answer in time or the
        expression fails."""
        return await asyncio.wait_for(self._evaluate(expression), timeout)

    async def _evaluate(self, expression: str) -> Any:
        client = await self._get_client()
        msg_id = client.execute("", silent=True, store_history=False, user_expressions={"value": expression})
        while True:
            reply = await client.get_shell_msg(timeout=None)
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        value = reply["content"].get("user_expressions", {}).get("value", {})
        if value.get("status") != "ok":
            raise RuntimeError(f"{value.get('ename', 'Error')}: {value.get('evalue', '')}")
        text = value.get("data", {}).get("text/plain")
        return ast.literal_eval(text) if isinstance(text, str) else None

    async def _interrupt_quietly(self) -> None:
        try:
            await asyncio.wait_for(self.interrupt(), 2.0)
        except Exception:
            log.debug("interrupt after cancel failed", exc_info=True)
