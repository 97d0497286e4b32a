"""Approval mode ``ask``: the run pauses before each execution until someone decides what to do with the code.

One hook for every door: it emits ``approval_requested`` (the exact code), waits for a :class:`Verdict`, emits
``approval_decided`` and tells the engine to run the code (as given or edited), skip it (the model is told why)
or stop the run. Where the verdict comes from is the door's: the server waits for ``POST .../approval``
(:class:`PendingApproval`), the CLI and the magic ask on the terminal (``terminal.py``). Plain asyncio.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .hooks import Decision, RunHooks
from .loopstate import Stop

if TYPE_CHECKING:
    from .events import Emitter
    from .loopstate import LoopState

Action = Literal["run", "edit", "skip", "stop"]
ACTIONS: tuple[Action, ...] = ("run", "edit", "skip", "stop")


def stop_reason(step: int) -> str:
    return f"Stopped by the user before step {step} ran."


@dataclass(frozen=True)
class Verdict:
    """A decision for one paused step: ``code`` is the edited code (``edit``), ``reason`` is told to the model
    (``skip``), ``by`` says who decided (shown in the event)."""

    action: Action
    code: str | None = None
    reason: str = ""
    by: str = ""


class AskBeforeRunning(RunHooks):
    """Pause before each execution; subclasses say how a verdict is reached (``decide``)."""

    def __init__(self) -> None:
        self._emitter: Emitter | None = None

    def attach(self, emitter: Emitter) -> None:
        self._emitter = emitter

    async def decide(self, step: int, code: str) -> Verdict:
        raise NotImplementedError

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        await self._emit("approval_requested", step=step, code=code)
        verdict = await self.decide(step, code)
        fields: dict[str, Any] = {"step": step, "decision": verdict.action}
        if verdict.action == "edit":
            fields["code"] = verdict.code or ""
        if verdict.reason:
            fields["reason"] = verdict.reason
        if verdict.by:
            fields["by"] = verdict.by
        await self._emit("approval_decided", **fields)
        if verdict.action == "stop":
            raise Stop("cancelled", stop_reason(step))
        if verdict.action == "skip":
            return Decision("skip", reason=verdict.reason)
        if verdict.action == "edit":
            return Decision(code=verdict.code)
        return Decision()

    async def _emit(self, kind: str, **fields: Any) -> None:
        if self._emitter is not None:
            await self._emitter.emit(kind, **fields)


class NotPending(Exception):
    """A verdict for a step the run is not paused before (already decided, never asked, or the run went on)."""


class PendingApproval(AskBeforeRunning):
    """The server's door: the paused step waits for ``resolve`` (one API call decides it, a second one is refused).

    ``resolve`` is synchronous, so of two decisions arriving together exactly one finds the step pending.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending: tuple[int, asyncio.Future[Verdict]] | None = None

    @property
    def pending_step(self) -> int | None:
        return self._pending[0] if self._pending is not None else None

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        # Pending before ``approval_requested`` goes out: a client that saw the event can always decide.
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._pending = (step, future)
        try:
            return await super().before_execute(state, step, code)
        finally:
            if self._pending is not None and self._pending[1] is future:
                self._pending = None

    async def decide(self, step: int, code: str) -> Verdict:
        assert self._pending is not None and self._pending[0] == step
        return await self._pending[1]

    def resolve(self, step: int, verdict: Verdict) -> None:
        """Decide the paused step; raise ``NotPending`` if ``step`` is not the one waiting."""
        pending = self._pending
        if pending is None or pending[0] != step or pending[1].done():
            raise NotPending(step)
        self._pending = None
        pending[1].set_result(verdict)
