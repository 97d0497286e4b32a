"""One ``KernelExecutor`` (hence one kernel client) per server kernel, kept while the kernel lives.

Making a kernel client costs ~200 ms (``wait_for_ready`` waits out jupyter_client's IOPub flush), which a run
would otherwise pay before it does anything. The executor makes its client again by itself when the kernel was
restarted (a new process); this cache drops the executor of a kernel that is gone (shut down, culled, died for
good), on every checkout and on a timer, so that no client outlives its kernel. Gateway kernels (no local process
to tell a restart by) get a fresh executor per run, as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .executor import KernelExecutor
from .gateway import authenticated

log = logging.getLogger(__name__)


class KernelClients:
    """The server's executors by kernel id; ``checkout`` one for a run, ``release`` it when the run ends."""

    #: Seconds between sweeps for kernels that are gone while no run starts.
    sweep_interval = 10.0

    def __init__(self, kernel_manager: Any) -> None:
        self.kernel_manager = kernel_manager
        #: kernel id -> (the kernel's manager it was made for, its executor)
        self._executors: dict[str, tuple[Any, KernelExecutor]] = {}
        #: Kernels with a run on them: their executor is left alone until the run releases it.
        self._in_use: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def __contains__(self, kernel_id: str) -> bool:
        return kernel_id in self._executors

    def __len__(self) -> int:
        return len(self._executors)

    def kept(self, kernel_id: str) -> KernelExecutor | None:
        """The executor kept for this kernel, if any."""
        kept = self._executors.get(kernel_id)
        return kept[1] if kept is not None else None

    def checkout(self, kernel_id: str) -> KernelExecutor:
        """The kernel's executor: the one kept from its last run if the kernel is the same, else a new one."""
        self.sweep()
        km = authenticated(self.kernel_manager.get_kernel(kernel_id))
        kept = self._executors.get(kernel_id)
        self._in_use.add(kernel_id)
        if kept is not None and kept[0] is km:
            return kept[1]
        if kept is not None:  # the same id, another manager: the kernel was removed and started again
            self._drop(kernel_id)

        async def restart() -> None:
            await self.kernel_manager.restart_kernel(kernel_id)

        executor = KernelExecutor(km, restart=restart)
        self._executors[kernel_id] = (km, executor)
        self._start_sweeping()
        return executor

    def release(self, kernel_id: str, executor: KernelExecutor) -> None:
        """A run on the kernel ended: keep its client for the next run, unless it cannot be kept."""
        self._in_use.discard(kernel_id)
        kept = self._executors.get(kernel_id)
        if kept is None or kept[1] is not executor:
            _close(executor)  # dropped (its kernel went) while the run was on it
        elif kernel_id not in self.kernel_manager or not executor.reusable:
            self._drop(kernel_id)

    def sweep(self) -> None:
        """Close the clients of kernels the server no longer has."""
        gone = [k for k in self._executors if k not in self._in_use and k not in self.kernel_manager]
        for kernel_id in gone:
            self._drop(kernel_id)

    def close(self) -> None:
        """Close every client (server shutdown)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for kernel_id in list(self._executors):
            self._drop(kernel_id)
        self._in_use.clear()

    def _drop(self, kernel_id: str) -> None:
        _, executor = self._executors.pop(kernel_id)
        _close(executor)

    def _start_sweeping(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep_while_kept())

    async def _sweep_while_kept(self) -> None:
        while self._executors:
            await asyncio.sleep(self.sweep_interval)
            self.sweep()


def _close(executor: KernelExecutor) -> None:
    try:
        executor.close()
    except Exception:
        log.debug("closing the kernel client failed", exc_info=True)
