"""Where features plug into a run without the loop knowing them: before each model call, around each execution.

Approval (ask before running), budgets (stop before a model call would cross a limit) and file tracking (what a
step wrote) are hooks; the loop calls them in order and the default hooks do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .events import Emitter
    from .executor import ExecResult
    from .loopstate import LoopState


@dataclass
class Decision:
    """What to do with a step's code: run it (as given, or as the user edited it), or skip it, telling the model why.

    A hook may also raise ``loopstate.Stop`` to end the run.
    """

    action: Literal["run", "skip"] = "run"
    code: str | None = None
    reason: str = ""


RUN = Decision()


class RunHooks:
    """No-op hooks; subclass and override what a feature needs. Each may be async and may raise ``Stop``."""

    def attach(self, emitter: Emitter) -> None:
        """Called once per run, before its first event: hooks that report (approval) emit through ``emitter``."""

    async def turn_notes(self, state: LoopState) -> str:
        """Called once per run before its first model call: text told to the model after the prompt (e.g. the
        profiles of attached files); empty for nothing."""
        return ""

    async def before_model_call(self, state: LoopState) -> None:
        """Called before each request to the model (e.g. a budget check)."""

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        """Called before a step's code runs; the returned decision says whether and what to run."""
        return RUN

    async def after_execute(self, state: LoopState, step: int, code: str, result: ExecResult) -> None:
        """Called once a step's code has run (e.g. to look for the files it wrote)."""


class Chain(RunHooks):
    """Several features' hooks as one, called in order: each sees the code as the one before decided it, and the
    first to skip (or raise ``Stop``) decides."""

    def __init__(self, hooks: list[RunHooks]) -> None:
        self.hooks = hooks

    def attach(self, emitter: Emitter) -> None:
        for hook in self.hooks:
            hook.attach(emitter)

    async def turn_notes(self, state: LoopState) -> str:
        notes = [await hook.turn_notes(state) for hook in self.hooks]
        return "\n\n".join(note for note in notes if note)

    async def before_model_call(self, state: LoopState) -> None:
        for hook in self.hooks:
            await hook.before_model_call(state)

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        decided = RUN
        for hook in self.hooks:
            decision = await hook.before_execute(state, step, code if decided.code is None else decided.code)
            if decision.action == "skip":
                return decision
            if decision.code is not None:
                decided = decision
        return decided

    async def after_execute(self, state: LoopState, step: int, code: str, result: ExecResult) -> None:
        for hook in self.hooks:
            await hook.after_execute(state, step, code, result)


def chain(*hooks: RunHooks | None) -> RunHooks | None:
    """The given hooks (None for a feature that is off) as one, or None when there are none."""
    present = [hook for hook in hooks if hook is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else Chain(present)
