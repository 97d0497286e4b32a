"""The one fold of a run's events into its state, shared by every consumer in Python.

The server's live view of a run, the records it stores, the ``%%interpret`` transcript and the CLI's notebook
all read a :class:`RunState` built by :meth:`RunState.apply`; nothing else interprets the event stream.
Its TypeScript twin is ``labextension/src/runState.ts``. Pure: no I/O, no clock, no asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .events import ACTIVE_STATUSES, FINAL_STATUSES, Usage, zero_usage
from .outputs import OutputList, settle

__all__ = [
    "ACTIVE_STATUSES",
    "RECORDED_STEP_STATUSES",
    "Item",
    "OutputList",
    "RunState",
    "StepState",
    "is_final",
    "settle",
]

#: Step statuses whose code ran (or began to), so its cell belongs in the notebook; ``skipped`` steps never ran.
RECORDED_STEP_STATUSES: frozenset[str] = frozenset({"ok", "error", "timeout", "kernel_restarted", "cancelled"})


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


@dataclass
class StepState:
    step: int
    stage: str = "started"
    code: str = ""
    outputs: OutputList = field(default_factory=OutputList)
    #: ``running`` until the step's ``completed`` event says how it ended.
    status: str = "running"
    execution_count: int | None = None
    elapsed: float | None = None
    message: str = ""
    #: The files the step created or changed, and whether that list was cut short.
    files: list[dict[str, Any]] = field(default_factory=list)
    files_truncated: bool = False
    #: Server time of the step's first ``in_progress`` event (it began to execute).
    running_since: float | None = None

    @property
    def done(self) -> bool:
        return self.stage == "completed"

    def record(self) -> dict[str, Any]:
        """The step as the REST API and the store give it."""
        return {
            "step": self.step,
            "code": self.code,
            "outputs": list(self.outputs.items),
            "status": self.status,
            "execution_count": self.execution_count,
            "elapsed": self.elapsed,
            "message": self.message,
            "files": list(self.files),
            "files_truncated": self.files_truncated,
        }


ItemKind = Literal["text", "step", "notice"]


@dataclass
class Item:
    """One block of a run in the order it happened: assistant text, a code step, or a notice."""

    kind: ItemKind
    text: str = ""
    step: int = 0
    level: str = "info"


@dataclass
class RunState:
    run_id: str = ""
    thread_id: str = ""
    prompt: str = ""
    model: str = ""
    status: str = "queued"
    reason: str = ""
    answer: str = ""
    usage: Usage = field(default_factory=zero_usage)
    last_seq: int = 0
    started: float | None = None
    ended: float | None = None
    items: list[Item] = field(default_factory=list)
    steps: dict[int, StepState] = field(default_factory=dict)
    #: While ``waiting_for_approval``: the paused step and exactly the code that would run.
    pending_approval: dict[str, Any] | None = None
    #: The files attached to the prompt, and the answer's citations of files the run wrote.
    files: list[str] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, events: list[dict[str, Any]]) -> RunState:
        state = cls()
        for event in events:
            state.apply(event)
        return state

    @property
    def final(self) -> bool:
        return is_final(self.status)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def apply(self, event: dict[str, Any]) -> bool:
        """Fold one event in; return False (and change nothing) for an event already applied or of another run."""
        seq = int(event.get("seq", 0))
        if seq <= self.last_seq or (self.run_id and event.get("run_id") != self.run_id):
            return False
        self.last_seq = seq
        self.run_id = str(event.get("run_id", self.run_id))
        kind = event.get("type")
        if kind == "run_started":
            self.thread_id = event.get("thread_id", "")
            self.prompt = event.get("prompt", "")
            self.model = event.get("model", "")
            self.files = list(event.get("files", []))
            self.status = "running"
            self.started = event.get("time")
        elif kind == "text_delta":
            self._add_text(event.get("delta", ""))
        elif kind == "step":
            self._apply_step(event)
        elif kind == "usage":
            self.usage = {**zero_usage(), **event["usage"]}
        elif kind == "kernel_restarted":
            self.items.append(Item("notice", text=event.get("message", ""), level="warning"))
        elif kind == "notice":
            if event.get("retract_text"):
                self._retract_text(event["retract_text"])
            self.items.append(Item("notice", text=event.get("message", ""), level=event.get("level", "info")))
        elif kind == "approval_requested":
            self.status = "waiting_for_approval"
            self.pending_approval = {"step": int(event["step"]), "code": event.get("code", "")}
            if int(event["step"]) in self.steps:
                self.steps[int(event["step"])].code = event.get("code", "")
        elif kind == "approval_decided":
            self.pending_approval = None
            if self.status == "waiting_for_approval":
                self.status = "running"
        elif kind == "run_ended":
            self.pending_approval = None
            self.status = event["status"]
            self.reason = event.get("reason", "")
            self.answer = event.get("answer", "")
            self.usage = {**zero_usage(), **(event.get("usage") or self.usage)}
            self.ended = event.get("time")
            self.annotations = list(event.get("annotations", []))
            if self.answer and not self._ends_with_text(self.answer):
                self.items.append(Item("text", text=self.answer))
        return True

    def _add_text(self, delta: str) -> None:
        if self.items and self.items[-1].kind == "text":
            self.items[-1].text += delta
        else:
            self.items.append(Item("text", text=delta))

    def _retract_text(self, text: str) -> None:
        """A cut-off model reply is asked again: the text it had streamed goes from the end of what is shown."""
        last = self.items[-1] if self.items else None
        if last is not None and last.kind == "text" and last.text.endswith(text):
            last.text = last.text[: len(last.text) - len(text)]
            if not last.text:
                self.items.pop()

    def _ends_with_text(self, answer: str) -> bool:
        last = self.items[-1] if self.items else None
        if last is None or last.kind != "text" or not last.text.strip():
            return False
        return answer.strip() in last.text or last.text.strip() in answer

    def _apply_step(self, event: dict[str, Any]) -> None:
        n = int(event["step"])
        step = self.steps.get(n)
        if step is None:
            step = self.steps[n] = StepState(n)
            self.items.append(Item("step", step=n))
        stage = event.get("stage", "")
        step.stage = stage
        if stage == "code_delta":
            step.code += event.get("delta", "")
        elif stage == "in_progress":
            if "code" in event:
                step.code = event["code"]
            if step.running_since is None:
                step.running_since = event.get("time")
            if event.get("output") is not None:
                step.outputs.add(event["output"])
        elif stage == "completed":
            if "code" in event:
                step.code = event["code"]
            if "outputs" in event:
                step.outputs = OutputList.of(event["outputs"])
            step.status = event.get("status", "ok")
            step.execution_count = event.get("execution_count")
            step.elapsed = event.get("elapsed")
            step.message = event.get("message", "")
            step.files = list(event.get("files", []))
            step.files_truncated = bool(event.get("files_truncated", False))

    def step_records(self) -> list[dict[str, Any]]:
        return [self.steps[n].record() for n in sorted(self.steps)]

    @property
    def text(self) -> str:
        """All the assistant's text of the run, in order (commentary and answer)."""
        return "".join(item.text for item in self.items if item.kind == "text")
