"""The server's fixed cost per run: a one-reply run through a real ``jupyter server`` against the engine run directly.

Run: ``python bench/server_cost.py [--n 15]`` (``--no-write``: print only). Both sides use the same scripted model
and one kernel each. "Through the server" is measured inside the server (the run's ``created`` to its
``run_ended`` event), so the HTTP round trip of the client is not counted; the POST → websocket closed time of the
client is reported beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench.report import as_users_run, write_section
from tests.scripted_llm import ScriptedLLM, answer
from tests.server_support import TEST_KEY
from tests.test_server_restart import ServerProcess

TITLE = "Server fixed cost per run"


async def engine_direct(llm: ScriptedLLM, n: int) -> list[float]:
    """A one-reply run on the engine, with its kernel client made once (as the CLI does for its one run)."""
    from jupyter_client.manager import AsyncKernelManager

    from jupyter_codeinterp.config import CodeInterpreter
    from jupyter_codeinterp.executor import KernelExecutor
    from jupyter_codeinterp.llm import make_client
    from jupyter_codeinterp.loop import Interpreter

    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    executor = KernelExecutor(km)
    config = CodeInterpreter(model="bench", base_url=llm.url, api_key=TEST_KEY, max_retries=0)
    client = make_client(config)
    samples: list[float] = []
    try:
        for i in range(n + 1):
            llm.script(answer("done"))
            start = time.perf_counter()
            result = await Interpreter(config, executor, client=client).run(
                "go", messages=[], workdir=await executor.working_directory()
            )
            assert result.status == "completed", result.reason
            if i:  # the first one warms up
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        executor.close()
        await client.close()
        await km.shutdown_kernel(now=True)
    return samples


def through_server(llm: ScriptedLLM, n: int) -> tuple[list[float], list[float]]:
    home = Path(tempfile.mkdtemp(prefix="codeinterp-cost-"))
    server = ServerProcess(home, llm)
    inside: list[float] = []
    outside: list[float] = []
    try:
        kernel = server.ok("POST", "/api/kernels", {"name": "python3"})["id"]
        for i in range(n + 1):
            llm.script(answer("done"))
            start = time.perf_counter()
            started = server.start_run(kernel, "go", thread_id="new")
            events = server.events(started["run_id"])
            elapsed = (time.perf_counter() - start) * 1000
            run = server.ok("GET", f"/codeinterp/runs/{started['run_id']}")
            assert run["status"] == "completed", run
            if i:
                inside.append((events[-1]["time"] - run["created"]) * 1000)
                outside.append(elapsed)
    finally:
        server.kill()
    return inside, outside


def measure(n: int) -> dict[str, float]:
    as_users_run()
    with ScriptedLLM(api_key=TEST_KEY) as llm:
        direct = asyncio.run(engine_direct(llm, n))
        inside, outside = through_server(llm, n)
    engine, server = statistics.median(direct), statistics.median(inside)
    return {"engine": engine, "server": server, "outside": statistics.median(outside), "fixed": server - engine}


def render(r: dict[str, float], n: int) -> str:
    return (
        f"`python bench/server_cost.py --n {n}`: medians of {n} one-reply runs (no code), one kernel, "
        f"the scripted model; {time.strftime('%Y-%m-%d')}.\n\n"
        "| measurement | median ms |\n|---|---:|\n"
        f"| engine run directly (kernel client made once) | {r['engine']:.1f} |\n"
        f"| through the server (run created → `run_ended`) | {r['server']:.1f} |\n"
        f"| server fixed cost per run (difference; target ≤ 30) | {r['fixed']:.1f} |\n"
        f"| client's view: POST → websocket closed | {r['outside']:.1f} |\n"
    )


def summary(r: dict[str, Any]) -> list[tuple[str, float, float | None, str, bool]]:
    """For ``python -m bench``: (figure, ours, baseline, target, met)."""
    return [("server run, one reply (ms)", r["server"], r["engine"], "≤ engine + 30 ms", r["fixed"] <= 30)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    table = render(measure(args.n), args.n)
    print(table)
    if not args.no_write:
        write_section(TITLE, table)
