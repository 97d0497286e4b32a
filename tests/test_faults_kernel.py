"""The kernel is killed (SIGKILL, from outside: the OOM killer, a user) while a run's code executes on the real
server: the server's restarter brings it back, the step says so, the model is told its state is gone, the run goes
on, and nothing is lost. (The engine's own handling, without a server, is tests/test_engine_failures.py.)"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, assert_intact, read_events, read_until

WORK = "x = 41\nimport time\nprint('working', flush=True)\ntime.sleep(60)"


async def test_a_kernel_killed_mid_execution_is_restarted_and_the_run_goes_on_losing_nothing(
    api: Api, llm: ScriptedLLM, kernel_id: str, store_path: Path, jp_serverapp: Any
) -> None:
    llm.script(code(WORK), code("print('x' in globals())"), answer("The kernel restarted; x is gone."))
    run_id = (await api.start(kernel_id, "work", notebook_path="a.ipynb"))["run_id"]
    ws = await api.events(run_id)
    seen = await read_until(ws, lambda e: "working" in json.dumps(e.get("output") or {}))

    process = jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.process
    os.kill(process.pid, signal.SIGKILL)
    seen += await read_events(ws, timeout=60)

    run = await api.run(run_id)
    assert run["status"] == "completed" and run["answer"] == "The kernel restarted; x is gone.", run
    died, after = run["steps"]
    assert died["status"] == "kernel_restarted" and died["outputs"][0]["text"] == "working\n"
    assert "restarted" in died["message"]
    assert after["status"] == "ok" and after["outputs"][0]["text"] == "False\n"  # the same kernel id, fresh state
    told = [m["content"] for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert "restarted" in told[0] and "lost" in told[0]
    assert any(e["type"] == "kernel_restarted" for e in seen)
    assert_intact(store_path, run, seen)
