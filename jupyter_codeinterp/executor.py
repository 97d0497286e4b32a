"""Running one piece of code in a Jupyter kernel and collecting everything it produces.

``Executor`` is what the loop needs; ``KernelExecutor`` implements it with jupyter_client for any kernel manager
(the CLI's own ``AsyncKernelManager``, or the server's ``kernel_manager.get_kernel(id)``, gateway kernels included).
The ``%%interpret`` magic has its own in-process implementation.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .events import Output, StepStatus
from .outputs import coalesce

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


class Executor(Protocol):
    async def execute(self, code: str, on_output: OutputCallback, timeout: float) -> ExecResult:
        """Run ``code``; call ``on_output`` for each output as it arrives; never raise for user-code errors."""
        ...

    async def interrupt(self) -> None: ...


class OutputCollector:
    """Applies iopub messages to a list of nbformat outputs (clear_output and display updates included)."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []
        self._clear_pending = False
        self.execution_count: int | None = None

    def handle(self, msg: dict[str, Any]) -> Output | None:
        """Apply one iopub message; return the new output to show live, if any."""
        from nbformat.v4 import output_from_msg

        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "execute_input":
            self.execution_count = content.get("execution_count")
            return None
        if kind == "clear_output":
            if content.get("wait"):
                self._clear_pending = True
            else:
                self.outputs.clear()
            return {"output_type": "clear_output", "wait": bool(content.get("wait"))}
        if kind == "update_display_data":
            display_id = content.get("transient", {}).get("display_id")
            for i, out in enumerate(self.outputs):
                if display_id and out.get("_display_id") == display_id:
                    self.outputs[i] = {
                        **out,
                        "data": content["data"],
                        "metadata": content.get("metadata", {}),
                    }
            return None
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return None
        if self._clear_pending:
            self.outputs.clear()
            self._clear_pending = False
        if kind == "execute_result":
            self.execution_count = content.get("execution_count", self.execution_count)
        out = dict(output_from_msg(msg))  # type: ignore[no-untyped-call]
        live = dict(out)
        display_id = content.get("transient", {}).get("display_id")
        if display_id:
            out["_display_id"] = display_id
        self.outputs.append(out)
        return live

    def final_outputs(self) -> list[Output]:
        return coalesce([{k: v for k, v in o.items() if k != "_display_id"} for o in self.outputs])


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

    # -- kernel identity and liveness ---------------------------------------------------------------

    def _identity(self) -> Any:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return id(process) if process is not None else id(provisioner)

    async def _alive(self) -> bool:
        try:
            return bool(await _maybe_await(self.km.is_alive()))
        except Exception:
            return False

    async def _get_client(self) -> Any:
        if self._client is None:
            client = self.km.client()
            client.start_channels()
            try:
                # Waits for iopub to be subscribed too, so the first outputs are not lost.
                await client.wait_for_ready(timeout=self.ready_timeout)
            except RuntimeError as exc:
                client.stop_channels()
                raise KernelUnavailable(f"The kernel did not answer within {self.ready_timeout:g} s.") from exc
            self._client = client
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.stop_channels()
            finally:
                self._client = None

    async def interrupt(self) -> None:
        await _maybe_await(self.km.interrupt_kernel())

    async def _recover(self) -> str:
        """The kernel died: wait for the auto-restarter, or restart it ourselves. Raise if it cannot be."""
        self.close()
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
                    if not await self._alive() or self._identity() != identity:
                        message = await self._recover()
                        return ExecResult(
                            "kernel_restarted",
                            collector.final_outputs(),
                            collector.execution_count,
                            message + " All variables, imports and kernel state were lost.",
                        )
                    continue
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

    async def _interrupt_quietly(self) -> None:
        try:
            await asyncio.wait_for(self.interrupt(), 2.0)
        except Exception:
            log.debug("interrupt after cancel failed", exc_info=True)
