"""Runs on different kernels go on side by side; a thread has one run at a time."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from tests.scripted_llm import ScriptedLLM, answer, code, hang
from tests.server_support import *  # noqa: F403
from tests.server_support import Api

RUNS = 4


#: Each run's first model request waits here until every run has made its own: they are all going at once, by
#: construction rather than by timing (the scripted server answers each request in its own thread).
_all_started = threading.Barrier(RUNS, timeout=60)


def _echo_model(body: dict[str, Any]) -> dict[str, Any]:
    """A model that works out each run from its own conversation, whatever order requests come in."""
    last = body["messages"][-1]
    if last["role"] == "user":
        _all_started.wait()
        # Run the prompt's number through the kernel, slowly enough for the runs to overlap.
        n = int(last["content"].split()[-1])
        return code(f"import time\ntime.sleep(0.3)\nvalue = {n} * {n}\nprint(value)", delay=0.01)
    return answer(f"Result: {last['content'].strip()}")


async def test_runs_on_different_kernels_go_on_side_by_side(api: Api, llm: ScriptedLLM) -> None:
    kernels = await asyncio.gather(*(api.new_kernel() for _ in range(RUNS)))
    llm.script(*([_echo_model] * (2 * RUNS)))

    started = [await api.start(k, f"square {i}", thread_id="new") for i, k in enumerate(kernels)]
    logs, runs = await asyncio.gather(
        asyncio.gather(*(api.all_events(s["run_id"]) for s in started)),
        asyncio.gather(*(api.wait(s["run_id"]) for s in started)),
    )

    for i, (run, events) in enumerate(zip(runs, logs, strict=True)):
        assert run["status"] == "completed", run
        assert run["answer"] == f"Result: {i * i}"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert {e["run_id"] for e in events} == {run["run_id"]}
    # They overlapped: every run had asked the model (the barrier) before any could end.
    assert _all_started.n_waiting == 0 and not _all_started.broken


async def test_a_thread_has_one_run_at_a_time(api: Api, llm: ScriptedLLM) -> None:
    first_kernel, second_kernel = await asyncio.gather(api.new_kernel(), api.new_kernel())
    llm.script(hang(30))
    first = await api.start(first_kernel, "think")
    while llm.remaining:  # the model has its request (after the kernel said where it is), not the next run
        await asyncio.sleep(0.02)

    status, body = await api.post(
        "codeinterp", "runs", body={"kernel_id": second_kernel, "prompt": "me too", "thread_id": first["thread_id"]}
    )

    assert status == 409 and body["run_id"] == first["run_id"], json.dumps(body)
    await api.post("codeinterp", "runs", first["run_id"], "cancel")
    llm.script(answer("my turn"))
    again = await api.start(second_kernel, "now me", thread_id=first["thread_id"])
    assert (await api.wait(again["run_id"]))["answer"] == "my turn"
