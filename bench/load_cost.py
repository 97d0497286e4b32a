"""What `%load_ext jupyter_codeinterp` costs a kernel: it must stay cheap (the engine loads at the first run).

Run: ``python bench/load_cost.py [--n 7]``; it rewrites its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench.report import write_section

PROBE = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
t = time.perf_counter(); ip.run_line_magic('load_ext', 'jupyter_codeinterp'); load = time.perf_counter() - t
t = time.perf_counter(); import openai, nbformat, jupyter_codeinterp.loop; engine = time.perf_counter() - t
print(load * 1000, engine * 1000)
"""


def measure(n: int) -> tuple[float, float]:
    loads, engines = [], []
    for _ in range(n):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
        load, engine = map(float, out.split())
        loads.append(load)
        engines.append(engine)
    return statistics.median(loads), statistics.median(engines)


def render(load: float, engine: float, n: int) -> str:
    return (
        f"`python bench/load_cost.py`: medians of {n} fresh interpreters, {time.strftime('%Y-%m-%d')}.\n\n"
        "| measurement | median ms |\n|---|---:|\n"
        f"| `%load_ext jupyter_codeinterp` | {load:.1f} |\n"
        f"| what it defers to the first run (openai, nbformat, the engine) | {engine:.1f} |\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    table = render(*measure(args.n), args.n)
    print(table)
    if not args.no_write:
        write_section("Magic load cost", table)
