"""A run in progress as the server holds it: its event log in memory (followers read it through their own cursor),
its state folded from those events by ``runstate.RunState`` (as every door folds them), and what stops it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .runstate import RunState
from .store_errors import StoreFailure


@dataclass
class LiveRun:
    """A run in progress: its events in memory for followers, its steps so far, and how to stop it."""

    run_id: str
    thread_id: str
    kernel_id: str
    notebook_path: str
    prompt: str
    model: str
    created: float
    #: ``events[i]["seq"] == i + 1``: a follower's cursor is an index.
    events: list[dict[str, Any]] = field(default_factory=list)
    #: What the events say so far.
    state: RunState = field(default_factory=RunState)
    #: Before its first event: ``running`` once the service is preparing it (the store says so too).
    preparing: bool = False
    #: The last ``seq`` written to the store: the events after it are written with the run's end.
    stored_seq: int = 0
    #: Why the store stopped taking this run's events (the run then ends ``failed``).
    store_failure: StoreFailure | None = None
    #: The run's end (``Store.finish_run`` arguments) while the store cannot take it.
    record: dict[str, Any] | None = None
    #: Chat messages the store could not take yet (written with the run's end once it can).
    unstored_messages: list[dict[str, Any]] = field(default_factory=list)
    #: The run was told to stop (its engine ends it, saying why).
    stopping: bool = False
    interp: Any = None
    #: ``ask``: the run pauses before each execution; its ``approval.PendingApproval`` hook waits for decisions.
    approval: str = "auto"
    approvals: Any = None
    #: The files attached to the prompt, relative to the server's root.
    files: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last_seq(self) -> int:
        return len(self.events)

    @property
    def status(self) -> str:
        if self.state.status == "queued" and self.preparing:
            return "running"
        return self.state.status

    @property
    def ended(self) -> bool:
        return self.state.final

    @property
    def reason(self) -> str:
        return self.state.reason

    @property
    def answer(self) -> str:
        return self.state.answer

    @property
    def usage(self) -> dict[str, Any]:
        return dict(self.state.usage)

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.state.apply(event)
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    async def wait_beyond(self, seq: int) -> None:
        """Return once there is an event after ``seq``, or the run has ended."""
        while self.last_seq <= seq and not self.ended:
            await self._wakeup.wait()

    def steps(self) -> list[dict[str, Any]]:
        return self.state.step_records()

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "kernel_id": self.kernel_id,
            "notebook_path": self.notebook_path,
            "prompt": self.prompt,
            "model": self.model,
            "status": self.status,
            "reason": self.reason,
            "answer": self.answer,
            "steps": self.steps(),
            "usage": self.usage,
            "created": self.created,
            "ended": self.state.ended,
            "last_seq": self.last_seq,
            "approval": self.approval,
            "pending_approval": self.state.pending_approval,
            "files": self.state.files,
            "annotations": self.state.annotations,
        }
