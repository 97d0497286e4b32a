"""The events websocket: replay then live with no gap or duplicate, reconnect from a seq, slow clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, StalledSocket, read_until

#: Code that prints for about a second, so that a client can drop mid-run.
SLOW_PRINTS = "import time\nfor i in range(10):\n    print('line', i, flush=True)\n    time.sleep(0.1)"


async def test_reconnecting_with_the_last_seq_seen_loses_nothing_and_repeats_nothing(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(code(SLOW_PRINTS, chunk=5), answer("Printed ten lines.", chunk=2))
    run_id = (await api.start(kernel_id, "print ten lines"))["run_id"]

    # A first connection reads until the code is running, then drops (a reload, a lost network).
    ws = await api.events(run_id)
    first = await read_until(ws, lambda e: e.get("stage") == "in_progress" and "output" in e)
    ws.close()
    # Reconnect from the last seq seen while the run is still going.
    rest = await api.all_events(run_id, after=first[-1]["seq"])
    assert rest, "the run went on after the first client left"

    seen = first + rest
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-1]["type"] == "run_ended" and seen[-1]["status"] == "completed"
    # The same log, read whole after the run has ended (from the store), is identical.
    assert await api.all_events(run_id) == seen
    assert await api.all_events(run_id, after=5) == seen[5:]
    assert await api.all_events(run_id, after=len(seen)) == []


async def test_a_run_goes_on_with_no_client_and_can_be_replayed_afterwards(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(code("print('alone')"), answer("Done without anyone watching."))
    run_id = (await api.start(kernel_id, "work alone"))["run_id"]

    run = await api.wait(run_id)

    assert run["status"] == "completed" and run["answer"] == "Done without anyone watching."
    events = await api.all_events(run_id)
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_ended"
    assert [e["seq"] for e in events] == list(range(1, run["last_seq"] + 1))


async def test_a_client_that_does_not_read_blocks_neither_the_run_nor_other_clients(
    api: Api, llm: ScriptedLLM, kernel_id: str, jp_http_port: int, jp_base_url: str, jp_serverapp: Any
) -> None:
    # About 11 MB of output events (each output is sent once): far more than a stalled client's socket buffers (at
    # most ~4.5 MB here).
    flood = "for i in range(800):\n    print(str(i) * 5000, flush=True)"
    llm.script(code(flood), answer("Flooded."))
    run_id = (await api.start(kernel_id, "flood"))["run_id"]
    path = f"{jp_base_url}codeinterp/runs/{run_id}/events"
    loop = asyncio.get_running_loop()
    # The handshake blocks: do it off the loop that serves it.
    stalled = await loop.run_in_executor(None, StalledSocket, jp_http_port, path, jp_serverapp.identity_provider.token)

    reader = await api.all_events(run_id)
    run = await api.wait(run_id, timeout=60)

    assert run["status"] == "completed"
    assert reader[-1]["type"] == "run_ended"
    total = sum(len(json.dumps(e)) for e in reader)
    # The run and the other client finished while the stalled one had most of the log still to come.
    got = stalled.available()
    assert got < total * 0.6, (got, total)
    # It still gets the whole log, in order, once it reads.
    late = await loop.run_in_executor(None, stalled.read_all)
    stalled.close()
    assert late == reader


async def test_many_clients_see_the_same_log(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(code(SLOW_PRINTS), answer("ok"))
    run_id = (await api.start(kernel_id, "print"))["run_id"]

    logs = await asyncio.gather(*(api.all_events(run_id) for _ in range(5)))

    assert all(log == logs[0] for log in logs)
    assert logs[0][-1]["type"] == "run_ended"


async def test_the_stream_of_an_unknown_run_is_404_and_a_bad_after_is_400(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(answer("hi"))
    run_id = (await api.start(kernel_id, "hi"))["run_id"]
    await api.wait(run_id)

    for target, after, status in (("r-unknown", None, 404), (run_id, "-1", 400), (run_id, "abc", 400)):
        with pytest.raises(HTTPClientError) as refused:
            ws = await api.events(target, after)
            ws.close()
        assert refused.value.code == status
