"""What one run of the loop has done so far (messages, steps, usage): the engine's state, in and out of a run.

A run can be handed a ``LoopState`` and gives it back in its ``RunResult``; the messages it appends are journaled so
that a door can persist each one with the event that announces it (see ``Interpreter.run``'s ``record``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .events import Output, Usage, zero_usage

Message = dict[str, Any]


class Stop(Exception):
    """Ends the run early with a status and a reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class LoopState:
    messages: list[Message]
    added: list[Message] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=zero_usage)
    step_count: int = 0
    executed: int = 0
    answer: str = ""
    #: tool_call ids of the last assistant message still lacking a tool result.
    pending_calls: list[str] = field(default_factory=list)
    #: step number -> (code so far, live outputs so far) for steps not yet completed.
    open_steps: dict[int, tuple[str, list[Output]]] = field(default_factory=dict)
    #: How many of ``added`` have been handed out by ``take_new``.
    _journaled: int = 0

    def append(self, message: Message) -> None:
        self.messages.append(message)
        self.added.append(message)

    def take_new(self) -> list[Message]:
        """The messages appended since the last call, in order (each handed out once)."""
        new = self.added[self._journaled :]
        self._journaled = len(self.added)
        return new

    def next_step(self) -> int:
        self.step_count += 1
        self.open_steps[self.step_count] = ("", [])
        return self.step_count
