"""Cancel: aborts the model stream and interrupts the kernel; the answer to the cancel is the ended run."""

from __future__ import annotations

from tests.scripted_llm import ScriptedLLM, answer, code, hang
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, read_events, read_until


async def _cancel(api: Api, run_id: str) -> dict:
    status, run = await api.post("codeinterp", "runs", run_id, "cancel")
    assert status == 200, run
    return run


async def test_cancel_while_the_model_is_streaming(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(hang(30, text="Let me think"))
    run_id = (await api.start(kernel_id, "think forever"))["run_id"]
    ws = await api.events(run_id)
    await read_until(ws, lambda e: e["type"] == "text_delta")

    run = await _cancel(api, run_id)

    assert run["status"] == "cancelled" and run["reason"] == "Cancelled by the user."
    rest = await read_events(ws)
    assert rest[-1]["type"] == "run_ended" and rest[-1]["status"] == "cancelled"
    # The kernel is free again at once.
    llm.script(answer("Free again."))
    follow_up = await api.start(kernel_id, "still there?")
    assert (await api.wait(follow_up["run_id"]))["answer"] == "Free again."


async def test_cancel_during_a_long_execution_interrupts_the_kernel(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(code("import time\nkept = 7\nprint('sleeping', flush=True)\ntime.sleep(60)\nwoke = True"))
    started = await api.start(kernel_id, "sleep a minute", notebook_path="long.ipynb")
    ws = await api.events(started["run_id"])
    await read_until(ws, lambda e: e.get("stage") == "in_progress" and "output" in e)

    run = await _cancel(api, started["run_id"])

    assert run["status"] == "cancelled"
    [step] = run["steps"]
    assert step["status"] == "cancelled"
    assert step["outputs"][0]["text"] == "sleeping\n"
    assert (await read_events(ws))[-1]["status"] == "cancelled"
    # The sleep was interrupted, not waited out: the next run finds the kernel free, the line after it never ran.
    llm.script(code("print('woke' in globals(), kept)"), answer("ok"))
    again = await api.wait((await api.start(kernel_id, "did it wake?"))["run_id"])
    assert again["steps"][0]["outputs"][0]["text"] == "False 7\n"

    # The sleep was interrupted, not waited out: a follow-up in the same thread runs now, on the same kernel,
    # with the variables set before the interrupt, and the model gets a well-formed history.
    llm.script(code("print(kept * 6)"), answer("42"))
    follow_up = await api.start(kernel_id, "what is kept * 6?", notebook_path="long.ipynb")
    assert follow_up["thread_id"] == started["thread_id"]
    done = await api.wait(follow_up["run_id"], timeout=10)
    assert done["status"] == "completed"
    assert done["steps"][0]["outputs"][0]["text"] == "42\n"
    sent = llm.requests[-2]["messages"]  # the follow-up's first request
    calls = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    answered = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert len(calls) == 1 and answered == calls  # the cancelled call got a tool result
    assert sent[-1] == {"role": "user", "content": "what is kept * 6?"}


async def test_cancelling_an_ended_run_changes_nothing(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(answer("done"))
    run_id = (await api.start(kernel_id, "quick"))["run_id"]
    before = await api.wait(run_id)

    run = await _cancel(api, run_id)

    assert run == before
