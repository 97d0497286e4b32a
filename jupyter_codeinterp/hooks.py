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

    async def before_model_call(self, state: LoopState) -> None:
        """Called before each request to the model (e.g. a budget check)."""

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        """Called before a step's code runs; the returned decision says whether and what to run."""
        return RUN

    async def after_execute(self, state: LoopState, step: int, code: str, result: ExecResult) -> None:
        """Called once a step's code has run (e.g. to look for the files it wrote)."""
