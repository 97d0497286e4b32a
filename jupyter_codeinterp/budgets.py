"""Budgets: limits on tokens, steps, wall time and estimated cost, per run and per thread, and what usage costs.

The limits are checked by a run hook before each model call: a run that has reached a limit, or whose next request
would take it past its token budget, stops there with a reason that names the limit and its setting. A thread's step
limit works like ``max_steps``: a step past it is stopped before it runs. Costs come from a price table (USD per 1M
tokens by model); where the endpoint reports no usage, the tokens are counted here (``tokens.py``) and marked
``estimated``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import tokens
from .hooks import RUN, Decision, RunHooks
from .loopstate import Stop

if TYPE_CHECKING:
    from .config import CodeInterpreter
    from .events import Emitter, Usage
    from .loopstate import LoopState


@dataclass(frozen=True)
class Amounts:
    """Tokens, executed steps, wall-clock seconds and USD: a limit (0 is none) or what was spent."""

    tokens: int = 0
    steps: int = 0
    seconds: float = 0.0
    cost: float = 0.0

    def plus(self, other: Amounts) -> Amounts:
        return Amounts(
            self.tokens + other.tokens, self.steps + other.steps, self.seconds + other.seconds, self.cost + other.cost
        )

    @classmethod
    def of(cls, totals: dict[str, Any]) -> Amounts:
        """From a thread's totals as the store reports them (``Store.thread_usage``)."""
        return cls(int(totals["tokens"]), int(totals["steps"]), float(totals["seconds"]), float(totals["cost"]))


def run_limits(config: CodeInterpreter) -> Amounts:
    # Steps per run are max_steps, which the loop applies itself (a step past it is not run).
    return Amounts(config.max_run_tokens, 0, config.max_run_seconds, config.max_run_cost)


def thread_limits(config: CodeInterpreter) -> Amounts:
    return Amounts(config.max_thread_tokens, config.max_thread_steps, config.max_thread_seconds, config.max_thread_cost)


def has_limits(config: CodeInterpreter) -> bool:
    return run_limits(config) != Amounts() or thread_limits(config) != Amounts()


_SETTINGS = {
    ("run", "tokens"): "max_run_tokens",
    ("run", "seconds"): "max_run_seconds",
    ("run", "cost"): "max_run_cost",
    ("thread", "tokens"): "max_thread_tokens",
    ("thread", "steps"): "max_thread_steps",
    ("thread", "seconds"): "max_thread_seconds",
    ("thread", "cost"): "max_thread_cost",
}


def _show(kind: str, value: float) -> str:
    if kind == "tokens":
        return f"{int(value):,} tokens"
    if kind == "steps":
        return f"{int(value)} step(s)"
    if kind == "seconds":
        return f"{value:.1f} s"
    return f"${value:.4f}"


class Budget(RunHooks):
    """Stops a run before a model call (or an execution) once it, or its thread, has spent a limit.

    ``before`` is what the thread's earlier runs spent; ``clock`` is monotonic seconds.
    """

    def __init__(
        self, run: Amounts, thread: Amounts, before: Amounts, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.run, self.thread, self.before = run, thread, before
        self._clock = clock
        self._started = clock()

    def attach(self, emitter: Emitter) -> None:
        self._started = self._clock()

    def spent(self, state: LoopState) -> Amounts:
        """What this run has spent so far."""
        usage = state.usage
        return Amounts(
            usage["total_tokens"], state.executed, self._clock() - self._started, float(usage.get("cost_usd", 0.0))
        )

    async def before_model_call(self, state: LoopState) -> None:
        spent = self.spent(state)
        coming = tokens.count_messages(state.messages)  # the prompt of the request about to be made, at least
        # Steps are like max_steps: the model may still answer after the last step allowed; a step past it is stopped
        # before it runs (``before_execute``). A thread whose earlier runs used them all gets no more model calls.
        thread_used = replace(self.before.plus(spent), steps=self.before.steps)
        for scope, limits, used in (("run", self.run, spent), ("thread", self.thread, thread_used)):
            for kind in ("tokens", "seconds", "cost", "steps"):
                limit = getattr(limits, kind)
                value = getattr(used, kind)
                if not limit:
                    continue
                if value >= limit:
                    self._stop(scope, kind, value, limit, "")
                if kind == "tokens" and value + coming > limit:
                    self._stop(
                        scope, kind, value, limit, f"; its next request (~{coming:,} prompt tokens) would pass it"
                    )

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        if self.thread.steps and self.before.steps + state.executed >= self.thread.steps:
            self._stop("thread", "steps", self.before.steps + state.executed, self.thread.steps, "")
        return RUN

    def _stop(self, scope: str, kind: str, value: float, limit: float, why: str) -> None:
        whose = "this run" if scope == "run" else "this thread"
        raise Stop(
            "failed",
            f"Stopped by the budget: {whose} has used {_show(kind, value)} of its {_show(kind, limit)}{why} "
            f"(c.CodeInterpreter.{_SETTINGS[(scope, kind)]}).",
        )


# -- usage and cost ---------------------------------------------------------------------------------------


def check_prices(value: Any) -> dict[str, dict[str, float]]:
    """A price table, validated: {model: {"input": USD per 1M, "output": USD per 1M}}, both finite and >= 0."""
    from .config import ConfigError

    if not isinstance(value, dict):
        raise ConfigError("prices must map model names to {'input': ..., 'output': ...}")
    table: dict[str, dict[str, float]] = {}
    for model, price in value.items():
        if not isinstance(price, dict) or set(price) != {"input", "output"}:
            raise ConfigError(f"prices[{model!r}] must be {{'input': USD per 1M tokens, 'output': USD per 1M tokens}}")
        for side, amount in price.items():
            if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
                raise ConfigError(f"prices[{model!r}][{side!r}] must be a number, got {amount!r}")
            if amount < 0:
                raise ConfigError(f"prices[{model!r}][{side!r}] must not be negative")
        table[str(model)] = {"input": float(price["input"]), "output": float(price["output"])}
    return table


def add_usage(total: Usage, turn: dict[str, int], *, estimated: bool, price: dict[str, float] | None) -> None:
    """Add one model turn's usage to a run's, marking the total estimated if this turn was, and pricing it."""
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        total[key] += turn[key]  # type: ignore[literal-required]
    if estimated:
        total["estimated"] = True
    if price is not None:
        cost = (turn["prompt_tokens"] * price["input"] + turn["completion_tokens"] * price["output"]) / 1e6
        total["cost_usd"] = round(float(total.get("cost_usd", 0.0)) + cost, 8)


def budget_for(config: CodeInterpreter, before: Amounts | None = None) -> Budget | None:
    """The budget hook of a run with this config (None when no limit is set); ``before``: its thread's spending."""
    if not has_limits(config):
        return None
    return Budget(run_limits(config), thread_limits(config), before or Amounts())


def thread_totals(usages: list[dict[str, Any]], seconds: float, steps: int) -> dict[str, Any]:
    """A thread's spending for readers (the REST thread records, the CLI's notebook): summed runs' usage."""
    return {
        "tokens": sum(int(u.get("total_tokens", 0)) for u in usages),
        "prompt_tokens": sum(int(u.get("prompt_tokens", 0)) for u in usages),
        "completion_tokens": sum(int(u.get("completion_tokens", 0)) for u in usages),
        "cost": round(sum(float(u.get("cost_usd", 0.0)) for u in usages), 8),
        "priced": any("cost_usd" in u for u in usages),
        "estimated": any(u.get("estimated") for u in usages),
        "steps": steps,
        "seconds": round(seconds, 3),
        "runs": len(usages),
    }


def add_run(totals: dict[str, Any] | None, usage: Usage, steps: int, seconds: float) -> dict[str, Any]:
    """A thread's totals with one more run (the CLI keeps a notebook's in its metadata: its runs are a thread)."""
    before = totals or thread_totals([], 0.0, 0)
    one = thread_totals([dict(usage)], seconds, steps)
    summed = {key: before.get(key, 0) + one[key] for key in ("tokens", "prompt_tokens", "completion_tokens", "steps")}
    return {
        **summed,
        "cost": round(float(before.get("cost", 0.0)) + one["cost"], 8),
        "priced": bool(before.get("priced")) or one["priced"],
        "estimated": bool(before.get("estimated")) or one["estimated"],
        "seconds": round(float(before.get("seconds", 0.0)) + seconds, 3),
        "runs": int(before.get("runs", 0)) + 1,
    }


def describe_spending(tokens: int, estimated: bool, cost: float | None) -> str:
    """``1,234 tokens (estimated), $0.0012``: how the CLI and the magic show what a run or a thread spent."""
    text = f"{tokens:,} tokens" + (" (estimated)" if estimated else "")
    return text + (f", ${cost:.4f}" if cost is not None else "")
