"""Loop overhead against a bare kernel round trip, and cancel latency, on one machine in one run.

Run: ``python bench/loop_overhead.py [--n 100]``; it rewrites its section of docs/benchmarks.md. Compare ratios
within a run: the machines are shared and noisy, so absolute numbers move between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from jupyter_client.manager import AsyncKernelManager

from bench.report import as_users_run, write_section
from jupyter_codeinterp.config import CodeInterpreter
from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.loop import Interpreter
from tests.scripted_llm import ScriptedLLM, answer, code, hang


async def timed(n: int, fn: Callable[[], Awaitable[Any]]) -> list[float]:
    await fn()  # warm up
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def bare_round_trip(client: Any) -> None:
    msg_id = client.execute("pass")
    while True:
        msg = await client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id and msg["content"].get("execution_state") == "idle":
            return


async def main(n: int) -> list[tuple[str, float, str]]:
    as_users_run()
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    rows: list[tuple[str, float, str]] = []
    try:
        bare = statistics.median(await timed(n, lambda: bare_round_trip(client)))
        rows.append(("bare jupyter_client execute → idle", bare, "1.00x"))

        executor = KernelExecutor(km)

        async def noop(_: Any) -> None:
            return None

        ours = statistics.median(await timed(n, lambda: executor.execute("pass", noop, 60)))
        rows.append(("KernelExecutor.execute (outputs collected)", ours, f"{ours / bare:.2f}x"))

        with ScriptedLLM() as llm:
            config = CodeInterpreter(model="bench", base_url=llm.url, api_key="")

            async def run(*replies: dict[str, Any]) -> None:
                llm.script(*replies)
                result = await Interpreter(config, executor).run("go", messages=[])
                assert result.status == "completed", result.reason

            answer_only = statistics.median(await timed(n // 2, lambda: run(answer("done"))))
            one_step = statistics.median(await timed(n // 2, lambda: run(code("pass"), answer("done"))))
            # The same tool call in one chunk instead of ~12-character ones: what the chunking itself costs.
            unchunked = statistics.median(await timed(n // 2, lambda: run(code("pass", chunk=10_000), answer("done"))))
            rows.append(("run: one model reply, no code", answer_only, "model cost"))
            rows.append(("run: code step + answer (two replies)", one_step, ""))
            rows.append(("run: the same, the tool call in one chunk", unchunked, "chunking's cost: the difference"))
            step_overhead = one_step - 2 * answer_only - bare
            rows.append(("remainder: two-reply run - 2 x one-reply run - bare execute", step_overhead, "see below"))

            async def cancel_latency(reply: dict[str, Any], after: float) -> float:
                llm.script(reply, answer("unused"))
                interp = Interpreter(config, executor)
                task = asyncio.ensure_future(interp.run("go", messages=[]))
                await asyncio.sleep(after)
                start = time.perf_counter()
                interp.cancel()
                result = await task
                assert result.status == "cancelled"
                llm._script.clear()
                return (time.perf_counter() - start) * 1000

            stream = [await cancel_latency(hang(30), 0.3) for _ in range(5)]
            rows.append(("cancel during model streaming → run ended", statistics.median(stream), "target < 1000 ms"))
            run_code = [await cancel_latency(code("import time; time.sleep(30)"), 0.6) for _ in range(5)]
            rows.append(("cancel during execution → run ended", statistics.median(run_code), "target < 1000 ms"))
        executor.close()
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)
    return rows


def main_rows(n: int) -> list[tuple[str, float, str]]:
    return asyncio.run(main(n))


def summary(rows: list[tuple[str, float, str]]) -> list[tuple[str, float, float | None, str, bool]]:
    """For ``python -m bench``: (figure, ours, baseline, target, met)."""
    value = {name: ms for name, ms, _ in rows}
    bare = value["bare jupyter_client execute → idle"]
    ours = value["KernelExecutor.execute (outputs collected)"]
    stream = value["cancel during model streaming → run ended"]
    running = value["cancel during execution → run ended"]
    return [
        ("one execution, KernelExecutor vs bare jupyter_client (ms)", ours, bare, "≤ bare + 2 ms", ours <= bare + 2),
        ("cancel during model streaming → run ended (ms)", stream, None, "< 1000 ms", stream < 1000),
        ("cancel during execution → run ended (ms)", running, None, "< 1000 ms", running < 1000),
    ]


def render(rows: list[tuple[str, float, str]], n: int) -> str:
    lines = [
        f"`python bench/loop_overhead.py`: medians over {n} iterations (runs: {n // 2}), "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}. Model: the scripted loopback server (its cost is the 'one model reply' row).",
        "",
        "| measurement | median ms | note |",
        "|---|---:|---|",
    ]
    lines += [f"| {name} | {value:.1f} | {note} |" for name, value, note in rows]
    lines += [
        "",
        "The remainder was once put down to streaming a chunked tool call. Measured from outside, chunking costs "
        "nothing measurable (the one-chunk row); what it was is the SDK's request building, which re-typed the "
        "whole thread per request (now sent as it is: see the model turn section), and the per-run costs "
        "(counted twice in the two one-reply runs, so the remainder can be near zero or below).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    table = render(asyncio.run(main(args.n)), args.n)
    print(table)
    if not args.no_write:
        write_section("Loop overhead and cancel latency", table)
