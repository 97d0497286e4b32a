"""Does a model turn get dearer as the thread grows? CPU of the engine and the openai SDK per step of one long run.

Run: ``python bench/model_turn.py [--steps 20] [--profile]`` (``--no-write``: print only). One run of ``--steps``
code steps, each printing ~2 KB (so the history grows as a real one does), then an answer; the scripted model and a
real kernel. Measured: the CPU time of the event loop's thread (``time.thread_time``: the scripted model's threads
and the kernel's process are not counted) from one model call to the next, i.e. one model turn and the step it ran.
``--profile`` prints the functions that took the most time over the whole run (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import os
import pstats
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench.report import as_users_run, write_section
from tests.scripted_llm import ScriptedLLM, answer, code

TITLE = "Model turn cost as the thread grows"
PRINT = "print('row,' * 400)"


async def per_step_cpu(llm: ScriptedLLM, steps: int, profile: cProfile.Profile | None = None) -> list[float]:
    from jupyter_client.manager import AsyncKernelManager

    from jupyter_codeinterp.config import CodeInterpreter
    from jupyter_codeinterp.executor import KernelExecutor
    from jupyter_codeinterp.hooks import RunHooks
    from jupyter_codeinterp.llm import make_client
    from jupyter_codeinterp.loop import Interpreter

    marks: list[float] = []

    class Clock(RunHooks):
        async def before_model_call(self, state: Any) -> None:
            marks.append(time.thread_time())

    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    executor = KernelExecutor(km)
    config = CodeInterpreter(model="bench", base_url=llm.url, api_key="", max_steps=steps + 1)
    client = make_client(config)
    try:
        llm.script(code(PRINT), answer("warm"))  # imports and connections, not counted
        await Interpreter(config, executor, client=client).run("warm up", messages=[])
        llm.script(*[code(PRINT) for _ in range(steps)], answer("done"))
        if profile is not None:
            profile.enable()
        result = await Interpreter(config, executor, client=client, hooks=Clock()).run("go", messages=[])
        if profile is not None:
            profile.disable()
        assert result.status == "completed", result.reason
        marks.append(time.thread_time())
    finally:
        executor.close()
        await client.close()
        await km.shutdown_kernel(now=True)
    return [(b - a) * 1000 for a, b in itertools.pairwise(marks)]


def client_cost(n: int = 7) -> dict[str, float]:
    """Making a model client against taking the kept one (the magic's and eval's runs), median ms."""
    from jupyter_codeinterp.clients import close_clients, shared_client
    from jupyter_codeinterp.config import CodeInterpreter
    from jupyter_codeinterp.llm import make_client

    config = CodeInterpreter(model="bench", api_key="sk-bench-not-a-key")  # api.openai.com: never contacted

    def timed(fn: Any) -> float:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    async def kept() -> float:
        shared_client(config)
        ms = timed(lambda: shared_client(config))
        await close_clients()
        return ms

    return {"made": timed(lambda: make_client(config)), "kept": asyncio.run(kept())}


def measure(steps: int, repeats: int = 3, profile: bool = False) -> dict[str, Any]:
    """Medians over ``repeats`` runs of step 1's and step ``steps``'s CPU (ms)."""
    as_users_run()
    runs = []
    prof = cProfile.Profile() if profile else None
    with ScriptedLLM() as llm:
        for _ in range(repeats):
            runs.append(asyncio.run(per_step_cpu(llm, steps, prof)))
    first = statistics.median(r[0] for r in runs)
    last = statistics.median(r[steps - 1] for r in runs)
    if prof is not None:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return {"steps": steps, "first": first, "last": last, "ratio": last / first, "repeats": repeats, **client_cost()}


def render(r: dict[str, Any]) -> str:
    return (
        f"`python bench/model_turn.py --steps {r['steps']}`: one run of {r['steps']} code steps (each printing "
        f"~2 KB) and an answer, the scripted model, a real kernel; CPU of the event loop's thread from one model call "
        f"to the next (one model turn and its step), median of {r['repeats']} runs; {time.strftime('%Y-%m-%d')}.\n\n"
        "| measurement | ms |\n|---|---:|\n"
        f"| CPU, step 1 (2 messages sent) | {r['first']:.1f} |\n"
        f"| CPU, step {r['steps']} ({2 * r['steps']} messages sent) | {r['last']:.1f} |\n"
        f"| ratio (target ≤ 1.3) | {r['ratio']:.2f}x |\n"
        f"| making a model client (SSL context and all) | {r['made']:.1f} |\n"
        f"| taking the kept one (`clients.shared_client`: the magic, eval) | {r['kept']:.2f} |\n"
    )


def summary(r: dict[str, Any]) -> list[tuple[str, float, float | None, str, bool]]:
    """For ``python -m bench``: (figure, ours, baseline, target, met)."""
    return [
        (f"model turn CPU, step {r['steps']} vs step 1 (ms)", r["last"], r["first"], "≤ 1.3x", r["ratio"] <= 1.3),
        ("model client per run in the magic, kept vs made (ms)", r["kept"], r["made"], "≤ 1 ms", r["kept"] <= 1),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the runs")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    table = render(measure(args.steps, args.repeats, args.profile))
    print(table)
    if not args.no_write:
        write_section(TITLE, table)
