"""A run in progress as the server holds it: its event log in memory (followers read it through their own cursor),
its steps so far, and what stops it. Events are applied as they come, so the live view and the stored one agree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .events import zero_usage
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
    status: str = "queued"
    reason: str = ""
    answer: str = ""
    usage: dict[str, Any] = field(default_factory=lambda: {**zero_usage()})
    #: ``events[i]["seq"] == i + 1``: a follower's cursor is an index.
    events: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[int, dict[str, Any]] = field(default_factory=dict)
    ended: bool = False
    #: Server time of its ``run_ended`` event.
    ended_at: float | None = None
    #: The last ``seq`` written to the store: the events after it are written with the run's end.
    stored_seq: int = 0
    #: Why the store stopped taking this run's events (the run then ends ``failed``).
    store_failure: StoreFailure | None = None
    #: The run's end (``Store.finish_run`` arguments) while the store cannot take it.
    record: dict[str, Any] | None = None
    interp: Any = None
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last_seq(self) -> int:
        return len(self.events)

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._apply(event)
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    async def wait_beyond(self, seq: int) -> None:
        """Return once there is an event after ``seq``, or the run has ended."""
        while self.last_seq <= seq and not self.ended:
            await self._wakeup.wait()

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "run_started":
            self.status = "running"
        elif kind == "usage":
            self.usage = dict(event["usage"])
        elif kind == "run_ended":
            self.status = event["status"]
            self.reason = event.get("reason", "")
            self.answer = event.get("answer", "")
            self.usage = dict(event.get("usage") or self.usage)
            self.ended = True
            self.ended_at = event.get("time")
        elif kind == "step":
            self._apply_step(event)

    def _apply_step(self, event: dict[str, Any]) -> None:
        n = int(event["step"])
        step = self.steps.setdefault(
            n,
            {
                "step": n,
                "code": "",
                "outputs": [],
                "status": "running",
                "execution_count": None,
                "elapsed": None,
            },
        )
        stage = event.get("stage")
        if stage == "code_delta":
            step["code"] += event.get("delta", "")
        elif stage == "in_progress":
            if "code" in event:
                step["code"] = event["code"]
            output = event.get("output")
            if output is not None:
                if output.get("output_type") == "clear_output":
                    step["outputs"] = []
                else:
                    step["outputs"].append(output)
        elif stage == "completed":
            for key in ("code", "outputs", "status", "execution_count", "elapsed", "message"):
                if key in event:
                    step[key] = event[key]

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
            "steps": [dict(self.steps[n]) for n in sorted(self.steps)],
            "usage": dict(self.usage),
            "created": self.created,
            "ended": self.ended_at,
            "last_seq": self.last_seq,
        }
