"""One kernel client per kernel on the real server: kept across the kernel's runs, made again after a restart
(by a user or by the restarter), dropped when the kernel is shut down, never shared between kernels."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api


def _clients(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["codeinterp_service"].kernel_clients


def _outputs(run: dict[str, Any]) -> list[str]:
    return [o.get("text", "") for step in run["steps"] for o in step["outputs"]]


async def _until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_runs_on_one_kernel_share_one_client(
    api: Api, llm: ScriptedLLM, kernel_id: str, jp_serverapp: Any
) -> None:
    llm.script(code("x = 41"), answer("Set."), code("print(x + 1)"), answer("42"))
    first = await api.wait((await api.start(kernel_id, "set x"))["run_id"])
    executor = _clients(jp_serverapp).kept(kernel_id)
    client = executor.client
    assert first["status"] == "completed" and client is not None and client.channels_running

    second = await api.wait((await api.start(kernel_id, "print x + 1"))["run_id"])
    assert second["status"] == "completed" and _outputs(second) == ["42\n"]
    assert _clients(jp_serverapp).kept(kernel_id) is executor and executor.client is client


async def test_a_kernel_restarted_between_runs_gets_a_new_client(
    api: Api, llm: ScriptedLLM, kernel_id: str, jp_serverapp: Any
) -> None:
    llm.script(code("x = 41"), answer("Set."), code("print('x' in globals())"), answer("Gone."))
    await api.wait((await api.start(kernel_id, "set x"))["run_id"])
    old = _clients(jp_serverapp).kept(kernel_id).client

    status, _ = await api.post("api", "kernels", kernel_id, "restart")
    assert status == 200
    run = await api.wait((await api.start(kernel_id, "is x there?"))["run_id"])

    assert run["status"] == "completed" and _outputs(run) == ["False\n"]  # ran in the restarted kernel
    new = _clients(jp_serverapp).kept(kernel_id).client
    assert new is not old and not old.channels_running and new.channels_running


async def test_a_kernel_killed_between_runs_is_restarted_and_the_next_run_uses_a_new_client(
    api: Api, llm: ScriptedLLM, kernel_id: str, jp_serverapp: Any
) -> None:
    llm.script(code("x = 41"), answer("Set."), code("print('x' in globals())"), answer("Gone."))
    await api.wait((await api.start(kernel_id, "set x"))["run_id"])
    old = _clients(jp_serverapp).kept(kernel_id).client
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    process = km.provisioner.process
    os.kill(process.pid, signal.SIGKILL)
    await _until(lambda: km.provisioner is not None and km.provisioner.process not in (None, process))

    run = await api.wait((await api.start(kernel_id, "is x there?"))["run_id"], timeout=60)
    assert run["status"] == "completed", run
    assert [s["status"] for s in run["steps"]] == ["ok"]  # the restarter brought it back before the run
    assert _outputs(run)[-1] == "False\n"
    assert _clients(jp_serverapp).kept(kernel_id).client is not old and not old.channels_running


async def test_a_kernel_shut_down_drops_its_client(
    api: Api, llm: ScriptedLLM, kernel_id: str, jp_serverapp: Any
) -> None:
    clients = _clients(jp_serverapp)
    clients.sweep_interval = 0.1
    llm.script(answer("Hello."))
    await api.wait((await api.start(kernel_id, "hi"))["run_id"])
    client = clients.kept(kernel_id).client
    assert kernel_id in clients and client.channels_running

    status, _ = await api.call("DELETE", "api", "kernels", kernel_id)
    assert status == 204
    await _until(lambda: kernel_id not in clients)  # no run needs to start for it to go
    assert not client.channels_running and len(clients) == 0


async def test_concurrent_runs_on_two_kernels_have_their_own_clients(
    api: Api, llm: ScriptedLLM, kernel_id: str, jp_serverapp: Any
) -> None:
    other = await api.new_kernel()
    llm.script(code("import time; time.sleep(0.5); print('one')"), code("print('two')"), answer("a"), answer("b"))
    runs = [await api.start(kernel_id, "one"), await api.start(other, "two")]
    ended = [await api.wait(r["run_id"]) for r in runs]

    assert [r["status"] for r in ended] == ["completed", "completed"]
    assert sorted(o for r in ended for o in _outputs(r)) == ["one\n", "two\n"]
    assert all(len(_outputs(r)) == 1 for r in ended)
    first, second = _clients(jp_serverapp).kept(kernel_id), _clients(jp_serverapp).kept(other)
    assert first is not second and first.client is not second.client
