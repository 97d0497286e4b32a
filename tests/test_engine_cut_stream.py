"""A model stream that does not finish is not an answer: it is asked again while that is safe, else the run fails.

"Not finished" is a stream without a finish reason (the body ended early, the connection closed or was reset) or
one that stopped at the output token limit (``length``). Nothing from such a stream runs; steps already run stay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.loop import Interpreter
from jupyter_codeinterp.modelturn import ChatModel
from jupyter_codeinterp.runstate import RunState
from tests.engine_helpers import Recorded, run_prompt
from tests.scripted_llm import answer, code, cut, drop, hang, markdown_code


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChatModel, "retry_backoff", 0.0)


def streamed_text(rec: Recorded) -> str:
    return "".join(e["delta"] for e in rec.of_type("text_delta"))


def shown_blocks(rec: Recorded) -> list[tuple[str, Any]]:
    """What a transcript (and the sidebar, which folds the same way) shows at the end."""
    return [(i.kind, i.text if i.kind != "step" else i.step) for i in RunState.of(rec.events).items]


@pytest.mark.parametrize("how", ["end", "close", "reset"])
async def test_a_cut_answer_is_asked_again_and_only_the_whole_reply_is_the_answer(
    llm, make_config, kernel, how
) -> None:
    llm.script(cut(answer("The answer is 42."), at=15, how=how), answer("The answer is 42."))
    rec = await run_prompt(make_config(max_retries=2), kernel, "what is it?")

    assert rec.result.status == "completed" and rec.result.answer == "The answer is 42."
    assert rec.events[-1]["answer"] == "The answer is 42."
    assert len(llm.requests) == 2 and llm.requests[1]["messages"] == llm.requests[0]["messages"]
    [notice] = rec.of_type("notice")
    assert notice["level"] == "warning" and "cut off" in notice["message"] and "retry 1 of 2" in notice["message"]
    # The partial text was shown, so the notice takes it back: the view holds the whole reply once.
    assert notice["retract_text"] == "The answer is 4"
    assert streamed_text(rec) == "The answer is 4" + "The answer is 42."
    assert shown_blocks(rec) == [("notice", notice["message"]), ("text", "The answer is 42.")]


async def test_a_stream_with_done_but_no_finish_reason_is_cut(llm, make_config, kernel) -> None:
    llm.script(answer("Half an answ", finish=None), answer("A whole answer."))
    rec = await run_prompt(make_config(), kernel, "hi")
    assert rec.result.status == "completed" and rec.result.answer == "A whole answer."
    assert len(llm.requests) == 2


async def test_a_stream_cut_every_time_fails_clearly_and_keeps_the_steps_already_run(
    llm, make_config, kernel, workdir: Path
) -> None:
    llm.script(
        code("open('ran.txt', 'a').write('ran\\n')\nprint('step one ran')"),
        *[cut(answer("So the result i"), how="reset")] * 3,
    )
    messages: list[dict[str, Any]] = []
    rec = await run_prompt(make_config(max_retries=2), kernel, "go", messages=messages)

    assert rec.result.status == "failed"
    assert rec.result.reason.startswith("The model stream was cut off before it finished: the connection was reset")
    assert "3 attempts" in rec.result.reason and llm.url in rec.result.reason
    assert rec.result.answer == "" and rec.events[-1]["answer"] == ""
    [step] = rec.result.steps
    assert step["status"] == "ok" and step["outputs"][0]["text"] == "step one ran\n"
    assert (workdir / "ran.txt").read_text() == "ran\n"
    assert len(llm.requests) == 4 and len(rec.of_type("notice")) == 2
    # The thread's history stays valid for its next run: the call was answered, nothing half-said was kept.
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]


async def test_an_answer_at_the_token_limit_is_asked_again_then_fails_as_truncated(llm, make_config, kernel) -> None:
    llm.script(*[answer("The long answer goes on and on", finish="length")] * 2)
    rec = await run_prompt(make_config(max_retries=1), kernel, "tell me everything")

    assert rec.result.status == "failed"
    assert rec.result.reason.startswith("The answer was truncated: the model hit its output token limit (2 attempts;")
    [notice] = rec.of_type("notice")
    assert "output token limit" in notice["message"]
    assert rec.result.answer == "" and len(llm.requests) == 2


async def test_without_retries_a_cut_stream_fails_at_once(llm, make_config, kernel) -> None:
    llm.script(cut(answer("Partial"), how="close"))
    rec = await run_prompt(make_config(max_retries=0), kernel, "hi")
    assert rec.result.status == "failed"
    assert rec.result.reason.startswith(
        "The model stream was cut off before it finished: the server closed the connection mid-answer (1 attempt;"
    )
    assert len(llm.requests) == 1 and not rec.of_type("notice")


@pytest.mark.parametrize("how", ["end", "close", "reset"])
async def test_nothing_runs_from_a_tool_call_cut_mid_arguments(llm, make_config, kernel, workdir: Path, how) -> None:
    source = "open('ran.txt', 'a').write('ran\\n')"
    llm.script(cut(code(source, text="Writing it."), at=25, how=how), code(source), answer("Written once."))
    rec = await run_prompt(make_config(), kernel, "write it")

    assert rec.result.status == "completed" and rec.result.answer == "Written once."
    cut_step, real = rec.result.steps
    assert cut_step["status"] == "skipped" and cut_step["message"].startswith("Not run: the model stream was cut")
    assert cut_step["code"] and source.startswith(cut_step["code"]) and cut_step["code"] != source
    assert real["status"] == "ok" and real["step"] == 2
    assert (workdir / "ran.txt").read_text() == "ran\n", "the cut call did not run; the retried one ran once"
    assert rec.stages(1) == ["started", "code_delta", "completed"]
    # A step was shown, so the commentary before it stays: it is not the trailing text any more.
    [notice] = rec.of_type("notice")
    assert "retract_text" not in notice
    assert [m["role"] for m in llm.requests[1]["messages"]] == ["system", "user"]


async def test_a_complete_tool_call_in_a_stream_without_finish_reason_does_not_run(
    llm, make_config, kernel, workdir: Path
) -> None:
    """More calls might have followed: a stream that did not finish runs nothing, even a call that parses."""
    source = "open('ran.txt', 'a').write('ran\\n')"
    llm.script(code(source, finish=None), code(source), answer("done"))
    rec = await run_prompt(make_config(), kernel, "write it")
    assert [s["status"] for s in rec.result.steps] == ["skipped", "ok"]
    assert (workdir / "ran.txt").read_text() == "ran\n"


async def test_markdown_mode_code_cut_mid_block_does_not_run(llm, make_config, kernel, workdir: Path) -> None:
    reply = markdown_code("open('ran.txt', 'a').write('ran\\n')")
    llm.script(cut(reply, at=len("Let me run this.\n```python\nopen('ran")), reply, answer("ok"))
    rec = await run_prompt(make_config(tool_mode="markdown"), kernel, "write it")
    assert rec.result.status == "completed"
    assert [s["status"] for s in rec.result.steps] == ["skipped", "ok"]
    assert (workdir / "ran.txt").read_text() == "ran\n"


async def test_a_stream_that_stalls_past_the_request_timeout_is_cut(llm, make_config, kernel) -> None:
    llm.script(hang(10, text="Let me", keepalive=False), hang(10, text="Let me", keepalive=False))
    rec = await run_prompt(make_config(request_timeout=1.0, max_retries=1), kernel, "hi")
    assert rec.result.status == "failed" and len(llm.requests) == 2
    assert rec.result.reason.startswith("The model stream was cut off before it finished: nothing arrived for 1 s")


async def test_a_dropped_stream_after_a_retry_that_succeeds_counts_usage_of_both(llm, make_config, kernel) -> None:
    llm.script(drop("Part"), answer("Whole."))
    rec = await run_prompt(make_config(), kernel, "hi")
    assert rec.result.status == "completed" and rec.result.answer == "Whole."
    assert rec.result.usage["total_tokens"] > 0


async def test_cancelling_while_waiting_to_retry_ends_cancelled(llm, make_config, kernel, monkeypatch) -> None:
    import asyncio

    monkeypatch.setattr(ChatModel, "retry_backoff", 30.0)
    llm.script(cut(answer("Partial answer")))
    interp = Interpreter(make_config(), KernelExecutor(kernel))

    async def cancel_on_notice(event: dict[str, Any]) -> None:
        if event["type"] == "notice":
            asyncio.get_running_loop().call_soon(interp.cancel)

    events: list[dict[str, Any]] = []

    async def sink(event: dict[str, Any]) -> None:
        events.append(event)
        await cancel_on_notice(event)

    try:
        result = await asyncio.wait_for(interp.run("hi", emit=sink), 20)
    finally:
        interp.executor.close()  # type: ignore[attr-defined]
    assert result.status == "cancelled" and len(llm.requests) == 1
    assert events[-1]["type"] == "run_ended"
