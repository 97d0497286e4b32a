"""What `%load_ext jupyter_codeinterp` costs a kernel: it must stay cheap (the engine loads at the first run).

Run: ``python bench/load_cost.py [--n 7] [--write docs/benchmarks.md]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

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
        "## Magic load cost (`bench/load_cost.py`)\n\n"
        f"Medians of {n} fresh interpreters, {time.strftime('%Y-%m-%d')}.\n\n"
        "| measurement | median ms |\n|---|---:|\n"
        f"| `%load_ext jupyter_codeinterp` | {load:.1f} |\n"
        f"| what it defers to the first run (openai, nbformat, the engine) | {engine:.1f} |\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=7)
    parser.add_argument("--write", help="markdown file to append or replace this section in")
    args = parser.parse_args()
    table = render(*measure(args.n), args.n)
    print(table)
    if args.write:
        marker = "## Magic load cost"
        with open(args.write) as f:
            existing = f.read()
        before, _, after = existing.partition(marker)
        rest = after.split("\n## ", 1)[1] if "\n## " in after else ""
        with open(args.write, "w") as f:
            f.write(before.rstrip() + "\n\n" + table + ("\n## " + rest if rest else ""))
