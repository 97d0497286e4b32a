"""Budgets: each limit, per run and per thread, stops the run before the model call that would cross it, with a
reason naming the setting; usage the endpoint does not report is counted here and marked estimated; a price table
gives each run's estimated cost."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_codeinterp.budgets import Amounts, Budget, budget_for, check_prices
from jupyter_codeinterp.config import ConfigError
from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.hooks import Decision, RunHooks, chain
from jupyter_codeinterp.loop import Interpreter
from jupyter_codeinterp.loopstate import LoopState, Stop
from jupyter_codeinterp.tokens import count, count_messages
from tests.engine_helpers import Recorded, run_prompt
from tests.scripted_llm import ScriptedLLM, answer, code

#: USD per 1M tokens: 1,000 makes one token cost a tenth of a cent, so a few hundred tokens pass a cent.
DEAR = {"scripted-model": {"input": 1000.0, "output": 1000.0}}


async def budgeted(config: Any, kernel: Any, prompt: str, before: Amounts | None = None, **kw: Any) -> Recorded:
    hooks = chain(budget_for(config, before), *kw.pop("more_hooks", ()))
    return await run_prompt(
        config, kernel, prompt, interpreter=Interpreter(config, KernelExecutor(kernel), hooks=hooks)
    )


def stopped_by(rec: Recorded, setting: str) -> str:
    assert rec.result.status == "failed", rec.result.reason
    assert "Stopped by the budget" in rec.result.reason and f"c.CodeInterpreter.{setting}" in rec.result.reason
    return rec.result.reason


async def test_the_run_token_budget_stops_the_run_before_the_next_model_call(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(code("print(1)"), answer("One."))
    unlimited = await run_prompt(make_config(), kernel, "print one")
    first_turn = unlimited.of_type("usage")[0]["usage"]["total_tokens"]  # what the first reply costs

    llm.script(code("print(1)"), answer("never asked for"))
    rec = await budgeted(make_config(max_run_tokens=first_turn), kernel, "print one")

    reason = stopped_by(rec, "max_run_tokens")
    assert len(llm.requests) == 2 + 1, "after the unlimited run's two, only the first request was made"
    assert rec.result.steps[0]["status"] == "ok", "the step the first reply asked for ran"
    assert f"this run has used {first_turn:,} tokens of its {first_turn:,} tokens" in reason


async def test_a_request_that_would_pass_the_token_budget_is_not_made(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(answer("never asked for"))
    rec = await budgeted(make_config(max_run_tokens=5), kernel, "a prompt longer than five tokens, surely")

    reason = stopped_by(rec, "max_run_tokens")
    assert llm.requests == [], "nothing was sent: the system prompt alone is over the budget"
    assert "next request" in reason and "would pass it" in reason


async def test_the_run_time_budget_stops_after_the_step_that_spent_it(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(code("import time; time.sleep(0.6); print('slept')"), answer("never asked for"))
    rec = await budgeted(make_config(max_run_seconds=0.5), kernel, "sleep")

    stopped_by(rec, "max_run_seconds")
    assert len(llm.requests) == 1 and rec.result.steps[0]["status"] == "ok"


async def test_a_price_table_gives_the_cost_and_the_cost_budget_stops_the_run(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(code("print(2)"), answer("never asked for"))
    rec = await budgeted(make_config(prices=DEAR, max_run_cost=0.01), kernel, "print two")

    stopped_by(rec, "max_run_cost")
    usage = rec.of_type("usage")[-1]["usage"]
    assert usage["cost_usd"] == pytest.approx(usage["total_tokens"] * 1000 / 1e6)
    assert rec.result.usage["cost_usd"] >= 0.01 and "estimated" not in usage, "the endpoint reported this usage"
    assert len(llm.requests) == 1


async def test_without_limits_a_run_is_not_budgeted_and_priced_usage_still_adds_up(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    config = make_config(prices=DEAR)
    assert budget_for(config) is None
    llm.script(code("print(3)"), answer("Three."))
    rec = await run_prompt(config, kernel, "print three")

    assert rec.result.status == "completed"
    usages = [e["usage"] for e in rec.of_type("usage")]
    assert len(usages) == 2 and usages[1]["total_tokens"] > usages[0]["total_tokens"], "cumulative, per turn"
    assert rec.of_type("run_ended")[0]["usage"] == usages[-1]


async def test_usage_an_endpoint_does_not_report_is_counted_and_marked_estimated(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(code("print(4)", usage=False), answer("Four.", usage=False))
    rec = await run_prompt(make_config(prices=DEAR), kernel, "print four")

    assert rec.result.status == "completed"
    usage = rec.result.usage
    assert usage["estimated"] is True and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["cost_usd"] == pytest.approx(usage["total_tokens"] * 1000 / 1e6)
    # The count is a real tokenizer's (cl100k, shipped offline), not characters / 4.
    assert count("hello world") == 2


async def test_the_thread_step_budget_counts_the_threads_earlier_runs(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(answer("never asked for"))
    rec = await budgeted(make_config(max_thread_steps=3), kernel, "more", before=Amounts(steps=3))

    reason = stopped_by(rec, "max_thread_steps")
    assert llm.requests == [] and "this thread has used 3 step(s) of its 3 step(s)" in reason


async def test_the_thread_step_budget_lets_the_model_answer_but_stops_a_step_past_it(
    llm: ScriptedLLM, make_config: Any, kernel: Any
) -> None:
    llm.script(code("print('first')"), code("print('second')"))
    rec = await budgeted(make_config(max_thread_steps=2), kernel, "twice", before=Amounts(steps=1))

    stopped_by(rec, "max_thread_steps")
    assert [s["status"] for s in rec.result.steps] == ["ok", "skipped"], "one more step ran; the next did not"
    assert "print('second')" not in str(rec.of_type("step")[-1].get("outputs", "")) and len(llm.requests) == 2

    llm.script(code("print('only')"), answer("Done."))
    rec = await budgeted(make_config(max_thread_steps=2), kernel, "once", before=Amounts(steps=1))
    assert rec.result.status == "completed", "the model answered after the last step the thread allowed"


@pytest.mark.parametrize(
    ("setting", "before"),
    [
        ("max_thread_tokens", Amounts(tokens=10_000)),
        ("max_thread_seconds", Amounts(seconds=100.0)),
        ("max_thread_cost", Amounts(cost=2.0)),
    ],
)
async def test_each_thread_budget_spent_by_earlier_runs_stops_the_next_run_at_once(
    llm: ScriptedLLM, make_config: Any, kernel: Any, setting: str, before: Amounts
) -> None:
    llm.script(answer("never asked for"))
    limit = {"max_thread_tokens": 10_000, "max_thread_seconds": 100.0, "max_thread_cost": 2.0}[setting]
    rec = await budgeted(make_config(**{setting: limit}), kernel, "go on", before=before)

    stopped_by(rec, setting)
    assert llm.requests == []


class Asks(RunHooks):
    """Records each step it was asked about (as approval asks the user)."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def before_execute(self, state: Any, step: int, code: str) -> Decision:
        self.asked.append(step)
        return Decision()


async def test_a_step_past_the_thread_step_budget_is_stopped_before_it_is_put_to_the_user() -> None:
    """Two tool calls in one reply: the second would cross the thread's step budget."""
    asks = Asks()
    hooks = chain(Budget(Amounts(), Amounts(steps=2), Amounts(steps=1)), asks)
    assert hooks is not None
    state = LoopState(messages=[])
    assert (await hooks.before_execute(state, 1, "print(1)")).action == "run"
    state.executed = 1
    with pytest.raises(Stop, match="max_thread_steps"):
        await hooks.before_execute(state, 2, "print(2)")
    assert asks.asked == [1], "the user was asked about the step that could run only"


def test_limits_and_prices_are_validated_with_clear_messages(make_config: Any) -> None:
    with pytest.raises(ConfigError, match="max_run_tokens must be 0"):
        make_config(max_run_tokens=-1)
    for bad, message in (
        ({"m": {"input": 1}}, "must be {'input'"),
        ({"m": {"input": "cheap", "output": 1}}, "must be a number"),
        ({"m": {"input": -1, "output": 1}}, "must not be negative"),
        ({"m": {"input": float("nan"), "output": 1}}, "must be a number"),
        ([], "must map model names"),
    ):
        with pytest.raises(ConfigError, match=message.replace("{", r"\{")):
            check_prices(bad)
    assert check_prices({"m": {"input": 1, "output": 2}}) == {"m": {"input": 1.0, "output": 2.0}}


def test_tokens_are_counted_per_message_with_images_at_a_fixed_cost() -> None:
    text = [{"role": "user", "content": "word " * 200}]
    image = [
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 9999}}],
        }
    ]
    assert count_messages(text) > 200
    assert count_messages(image) < 300, "base64 is not counted as text"
