"""The one event vocabulary of a run, shared by the engine, the server, the CLI, the magic and the UI.

Events are plain JSON-ready dicts so that they can be stored, streamed and replayed unchanged. The TypeScript
mirror lives in ``labextension/src/events.ts`` and the prose reference in ``docs/events.md``; keep all three in step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypedDict

from typing_extensions import NotRequired

#: Bump when an event's shape changes incompatibly.
EVENTS_VERSION = 1

Stage = Literal["started", "code_delta", "in_progress", "interpreting", "completed"]
STAGES: tuple[Stage, ...] = ("started", "code_delta", "in_progress", "interpreting", "completed")

#: How one executed step ended.
StepStatus = Literal["ok", "error", "timeout", "kernel_restarted", "cancelled", "skipped"]
#: Where a run is; the last three are final. ``waiting_for_approval``: paused before a step, for the user's decision.
RunStatus = Literal["queued", "running", "waiting_for_approval", "completed", "failed", "cancelled"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
#: Statuses of a run that has not ended (a run in one of these has a live task somewhere).
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "running", "waiting_for_approval"})
#: What the user may decide for a step the run paused before (approval mode ``ask``).
ApprovalAction = Literal["run", "edit", "skip", "stop"]

#: An nbformat v4 output dict (stream, display_data, execute_result or error).
Output = dict[str, Any]


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    #: Some of the tokens were counted here (the endpoint reported none for a turn): see tokens.py.
    estimated: NotRequired[bool]
    #: Estimated cost in USD, when the model has a price (c.CodeInterpreter.prices).
    cost_usd: NotRequired[float]


class _Base(TypedDict):
    seq: int
    run_id: str
    time: float


class FileChange(TypedDict):
    """A file a step created or changed in the working folder (path relative to it)."""

    path: str
    size: int
    change: Literal["created", "modified"]


class FileAnnotation(TypedDict):
    """A file the answer names, ``answer[start:end]``: the local form of the hosted tool's file citation."""

    path: str
    start: int
    end: int


class RunStartedEvent(_Base):
    type: Literal["run_started"]
    thread_id: str
    prompt: str
    model: str
    #: The files attached to the prompt (paths relative to the working folder).
    files: NotRequired[list[str]]


class TextDeltaEvent(_Base):
    type: Literal["text_delta"]
    delta: str


class StepEvent(_Base):
    """One stage of one code step. Which optional keys are present depends on ``stage``."""

    type: Literal["step"]
    step: int
    stage: Stage
    #: code_delta: the next piece of streamed code.
    delta: NotRequired[str]
    #: in_progress (first event of the stage) and completed: the full code.
    code: NotRequired[str]
    #: in_progress: one live output, as it arrives.
    output: NotRequired[Output]
    #: Each output is sent once: live, and again in ``completed`` only where the two would differ.
    outputs: NotRequired[
        Annotated[
            list[Output],
            "completed: the step's outputs, settled, only when they differ from what its live in_progress outputs "
            "fold to (clears applied, consecutive streams merged); absent, they are exactly those.",
        ]
    ]
    #: completed.
    status: NotRequired[StepStatus]
    execution_count: NotRequired[int | None]
    elapsed: NotRequired[float]
    #: completed, for timeout and kernel_restarted: what happened, in words.
    message: NotRequired[str]
    #: completed: the files the step created or changed, when any; ``files_truncated``: the folder scan was cut
    #: short (a large folder) or more files changed than are listed.
    files: NotRequired[list[FileChange]]
    files_truncated: NotRequired[bool]


class UsageEvent(_Base):
    """Token usage so far in this run (cumulative), when the endpoint reports it."""

    type: Literal["usage"]
    usage: Usage


class KernelRestartedEvent(_Base):
    type: Literal["kernel_restarted"]
    step: int
    message: str


class NoticeEvent(_Base):
    """Something the user should know that is not an error of the run (e.g. a fallback was taken)."""

    type: Literal["notice"]
    level: Literal["info", "warning"]
    message: str
    #: When the model stream was cut off and is asked again: the assistant text it had streamed (the end of the
    #: text shown), which clients take back so the retried reply does not follow a broken copy of itself.
    retract_text: NotRequired[str]


class ApprovalRequestedEvent(_Base):
    """Approval mode ``ask``: the run pauses before step ``step`` until the user decides; ``code`` is exactly what
    would run. The run's status is ``waiting_for_approval`` until ``approval_decided`` (or ``run_ended``)."""

    type: Literal["approval_requested"]
    step: int
    code: str


class ApprovalDecidedEvent(_Base):
    """The user's decision for the paused step: ``run`` it, ``edit`` (``code`` is what runs instead), ``skip`` it
    (``reason``, told to the model) or ``stop`` the run. ``by``: who decided, when known."""

    type: Literal["approval_decided"]
    step: int
    decision: ApprovalAction
    code: NotRequired[str]
    reason: NotRequired[str]
    by: NotRequired[str]


class RunEndedEvent(_Base):
    type: Literal["run_ended"]
    status: Literal["completed", "failed", "cancelled"]
    reason: str
    answer: str
    usage: Usage
    steps: int
    #: Files the run wrote that the answer names (as a path or a ``sandbox:/mnt/data/`` link).
    annotations: NotRequired[list[FileAnnotation]]


Event = (
    RunStartedEvent
    | TextDeltaEvent
    | StepEvent
    | UsageEvent
    | KernelRestartedEvent
    | NoticeEvent
    | ApprovalRequestedEvent
    | ApprovalDecidedEvent
    | RunEndedEvent
)

EventSink = Callable[[dict[str, Any]], Awaitable[None] | None]


def zero_usage() -> Usage:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


#: With this set (the test suite sets it), every event made is checked against the generated JSON Schema, so an
#: event with a field its type does not declare, or of the wrong type, fails the test that produced it.
CHECK_ENV = "CODEINTERP_CHECK_EVENTS"


def check_event(event: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``event`` is one of the declared event types."""
    from .schema import validator

    validator().validate(event)


def run_ended(
    run_id: str, seq: int, *, status: str, reason: str, answer: str, usage: Usage, steps: int, at: float | None = None
) -> dict[str, Any]:
    """A ``run_ended`` event: made by the engine, and by the store only for a run a crashed server left open."""
    event: dict[str, Any] = {
        "seq": seq,
        "run_id": run_id,
        "type": "run_ended",
        "time": time.time() if at is None else at,
        "status": status,
        "reason": reason,
        "answer": answer,
        "usage": {**zero_usage(), **usage},
        "steps": steps,
    }
    if os.environ.get(CHECK_ENV):
        check_event(event)
    return event


class Emitter:
    """Stamps events with ``run_id``, an increasing ``seq`` and a time, and hands them to a sink.

    ``start_seq`` lets a replaying store continue numbering; the first event gets ``start_seq + 1``.
    """

    def __init__(self, run_id: str, sink: EventSink | None = None, start_seq: int = 0) -> None:
        self.run_id = run_id
        self.seq = start_seq
        self._sink = sink

    async def emit(self, type: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        event: dict[str, Any] = {"seq": self.seq, "run_id": self.run_id, "type": type, "time": time.time()}
        event.update(fields)
        if os.environ.get(CHECK_ENV):
            check_event(event)
        if self._sink is not None:
            result = self._sink(event)
            if result is not None:
                await result
        return event

    async def step(self, step: int, stage: Stage, **fields: Any) -> dict[str, Any]:
        return await self.emit("step", step=step, stage=stage, **fields)
