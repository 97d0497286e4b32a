"""Decisions for paused runs (approval mode ``ask``): the run service's side of ``POST .../approval``.

A mixin of ``RunService``. A decision is checked and handed to the run's hook with no await in between, so of two
decisions for the same step (two tabs, two scripts) exactly one is taken; the other is a 409 and nothing runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from .approval import NotPending, Verdict
from .liverun import LiveRun
from .validation import ApprovalRequest, Conflict

#: How long a decision waits for the run to show it (its ``approval_decided`` event) before answering anyway.
DECIDED_WAIT = 5.0


class RunApprovals:
    _live: dict[str, LiveRun]

    def get_run(self, run_id: str) -> dict[str, Any]:
        raise NotImplementedError

    async def decide(self, run_id: str, req: ApprovalRequest, by: str = "") -> dict[str, Any]:
        """Run, edit, skip or stop the step ``run_id`` is paused before; return the run once it went on.

        404 for an unknown run; 409 when the run is not paused before ``req.step`` (decided already, ended,
        never asked, or in ``auto`` mode).
        """
        run = self._live.get(run_id)
        if run is None:
            self.get_run(run_id)  # 404 when unknown
            raise Conflict(f"Run {run_id} has ended: there is no step waiting for approval.", step=req.step)
        pending = run.approvals.pending_step if run.approvals is not None else None
        if pending != req.step:
            raise Conflict(self._not_pending(run, req.step, pending), step=req.step, pending_step=pending)
        try:
            run.approvals.resolve(req.step, Verdict(req.action, req.code, req.reason, by))  # type: ignore[arg-type]
        except NotPending:
            raise Conflict(self._not_pending(run, req.step, None), step=req.step, pending_step=None) from None
        await self._until_decided(run, req.step)
        return self.get_run(run_id)

    @staticmethod
    def _not_pending(run: LiveRun, step: int, pending: int | None) -> str:
        if run.approvals is None:
            return f"Run {run.run_id} does not ask for approval (its approval mode is auto)."
        if pending is None:
            return (
                f"Step {step} of run {run.run_id} is not waiting for approval "
                "(it was decided already, or the run is not paused)."
            )
        return f"Step {step} of run {run.run_id} is not waiting for approval; step {pending} is."

    @staticmethod
    async def _until_decided(run: LiveRun, step: int) -> None:
        """Wait for the engine to record the decision, so the answer shows the run as it now is."""

        async def shown() -> None:
            while not run.ended and (run.state.pending_approval or {}).get("step") == step:
                await run.wait_beyond(run.last_seq)

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(shown(), DECIDED_WAIT)
