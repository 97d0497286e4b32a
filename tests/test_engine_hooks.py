"""The engine's ports: runs recorded as they grow, hooks around model calls and executions, state in and out."""

from __future__ import annotations

from typing import Any

from jupyter_codeinterp.executor import ExecResult, KernelExecutor
from jupyter_codeinterp.hooks import Decision, RunHooks
from jupyter_codeinterp.loop import Interpreter
from jupyter_codeinterp.loopstate import LoopState, Stop
from tests.scripted_llm import answer, code


async def record_run(
    config: Any, kernel: Any, prompt: str, **kwargs: Any
) -> tuple[Any, list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    records: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    interp = kwargs.pop("interpreter", None) or Interpreter(
        config, KernelExecutor(kernel), hooks=kwargs.pop("hooks", None)
    )
    try:
        result = await interp.run(prompt, record=lambda event, messages: records.append((event, messages)), **kwargs)
    finally:
        interp.executor.close()  # type: ignore[attr-defined]
    return result, records


def announced_by(records: list[tuple[dict[str, Any], list[dict[str, Any]]]], role: str) -> list[dict[str, Any]]:
    """The events that carried a message of ``role``."""
    return [event for event, messages in records if any(m["role"] == role for m in messages)]


async def test_each_message_is_recorded_once_with_the_event_that_announces_it(llm, make_config, kernel) -> None:
    llm.script(code("print(6 * 7)"), answer("It is 42."))
    result, records = await record_run(make_config(), kernel, "6*7?")

    assert [m for _, messages in records for m in messages] == result.messages_added, "all of them, once, in order"
    [with_result] = announced_by(records, "tool")
    assert (with_result["type"], with_result["stage"]) == ("step", "completed"), "the step and its result together"
    [with_answer] = [e for e, messages in records if any(m.get("content") == "It is 42." for m in messages)]
    assert with_answer["type"] == "run_ended"


async def test_a_hook_can_skip_a_step_and_the_model_is_told_why(llm, make_config, kernel) -> None:
    class Refuse(RunHooks):
        async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
            return Decision("skip", reason="it deletes files")

    llm.script(code("import os; os.remove('precious.txt')"), answer("Skipped, as you asked."))
    result, _ = await record_run(make_config(), kernel, "clean up", hooks=Refuse())

    [step] = result.steps
    assert step["status"] == "skipped" and "it deletes files" in step["message"]
    told = [m["content"] for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert told == ["Not run: the user skipped this step. Their reason: it deletes files"]


async def test_edited_code_is_what_runs_what_the_step_holds_and_what_the_model_is_told(
    llm, make_config, kernel
) -> None:
    class Edit(RunHooks):
        seen: list[tuple[int, str, str]] = []

        async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
            return Decision(code="print('edited')")

        async def after_execute(self, state: LoopState, step: int, code: str, result: ExecResult) -> None:
            self.seen.append((step, code, result.status))

    hooks = Edit()
    llm.script(code("print('original')"), answer("ok"))
    result, _ = await record_run(make_config(), kernel, "go", hooks=hooks)

    [step] = result.steps
    assert step["code"] == "print('edited')" and step["outputs"][0]["text"] == "edited\n"
    assert hooks.seen == [(1, "print('edited')", "ok")]
    [told] = [m["content"] for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert "print('edited')" in told and told.endswith("edited")


async def test_a_hook_before_the_model_call_can_end_the_run_before_the_request(llm, make_config, kernel) -> None:
    class Budget(RunHooks):
        async def before_model_call(self, state: LoopState) -> None:
            if state.steps:
                raise Stop("failed", "Stopped: the token budget is spent.")

    llm.script(code("print(1)"), answer("never asked"))
    result, _ = await record_run(make_config(), kernel, "go", hooks=Budget())

    assert (result.status, result.reason) == ("failed", "Stopped: the token budget is spent.")
    assert len(llm.requests) == 1 and llm.remaining == 1, "the second request was never made"


async def test_cancel_says_how_the_run_ends(llm, make_config, kernel) -> None:
    interp = Interpreter(make_config(), KernelExecutor(kernel))
    interp.cancel("failed", "The server shut down while this run was in progress.")
    result, records = await record_run(make_config(), kernel, "go", interpreter=interp)

    assert (result.status, result.reason) == ("failed", "The server shut down while this run was in progress.")
    assert records[-1][0]["type"] == "run_ended" and records[-1][0]["status"] == "failed"


async def test_the_state_a_run_ends_with_is_where_the_next_one_starts(llm, make_config, kernel) -> None:
    llm.script(code("x = 1"), answer("set"), code("print(x + 1)"), answer("2"))
    first, _ = await record_run(make_config(), kernel, "set x")
    assert first.state is not None
    second, _ = await record_run(make_config(), kernel, "x + 1?", state=first.state)

    assert second.state is first.state
    history = [m["role"] for m in second.state.messages]
    assert history[:2] == ["system", "user"] and history.count("user") == 2, "one conversation, one system prompt"
    assert llm.requests[2]["messages"][: len(first.messages_added)] == first.messages_added
