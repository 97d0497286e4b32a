"""A client vanishes mid-run without closing its websocket (the TCP connection is reset: a laptop lid shut, a
network gone) and reconnects with the last seq it saw: the run went on without it, and the log it gets is whole,
in order and without duplicates, as is the store. (A clean close and reconnect is tests/test_server_events.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, StalledSocket, assert_intact

SLOW_PRINTS = "import time\nfor i in range(10):\n    print('line', i, flush=True)\n    time.sleep(0.1)"


async def test_a_client_that_vanishes_mid_run_reconnects_to_the_whole_log_without_duplicates(
    api: Api,
    llm: ScriptedLLM,
    kernel_id: str,
    store_path: Path,
    jp_http_port: int,
    jp_base_url: str,
    jp_serverapp: Any,
) -> None:
    llm.script(code(SLOW_PRINTS), answer("Printed ten lines."))
    run_id = (await api.start(kernel_id, "print ten lines"))["run_id"]
    loop = asyncio.get_running_loop()
    path = f"{jp_base_url}codeinterp/runs/{run_id}/events"
    client = await loop.run_in_executor(None, StalledSocket, jp_http_port, path, jp_serverapp.identity_provider.token)
    first = await loop.run_in_executor(None, client.read, 12)
    client.drop()
    assert first[-1]["type"] != "run_ended"

    rest = await api.all_events(run_id, after=first[-1]["seq"])
    seen = first + rest
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-1]["type"] == "run_ended" and seen[-1]["status"] == "completed"
    lines = "".join(e["output"]["text"] for e in seen if "output" in e)
    assert lines == "".join(f"line {i}\n" for i in range(10))
    assert await api.all_events(run_id) == seen
    assert_intact(store_path, await api.run(run_id), seen)
