"""The benchmark suite in one command: ``python -m bench`` runs every benchmark and rewrites docs/benchmarks.md,
a summary table (figure, ours, the baseline measured in the same run, ratio, target, met) and each one's section.

``python -m bench --quick`` runs everything tiny, as a smoke check that the benchmarks still work: it asserts no
timing and writes nothing. ``--only NAME`` runs some of them. The browser benchmark (bench/first_cell.sh) needs
Chromium and is run on its own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench import file_cost, load, load_cost, loop_overhead, memory, model_turn, output_bytes, server_cost
from bench.report import write_section

Row = tuple[str, float, float | None, str, bool]


def _loop_overhead(quick: bool) -> tuple[str, str, list[Row]]:
    n = 4 if quick else 100
    rows = loop_overhead.main_rows(n)
    return "Loop overhead and cancel latency", loop_overhead.render(rows, n), loop_overhead.summary(rows)


def _server_cost(quick: bool) -> tuple[str, str, list[Row]]:
    n = 2 if quick else 15
    r = server_cost.measure(n)
    return server_cost.TITLE, server_cost.render(r, n), server_cost.summary(r)


def _model_turn(quick: bool) -> tuple[str, str, list[Row]]:
    steps, repeats = (3, 1) if quick else (20, 3)
    r = model_turn.measure(steps, repeats)
    return model_turn.TITLE, model_turn.render(r), model_turn.summary(r)


def _load(runs: int) -> Callable[[bool], tuple[str, str, list[Row]]]:
    def run(quick: bool) -> tuple[str, str, list[Row]]:
        r = load.main(2 if quick else runs, idle_seconds=0.5 if quick else load.IDLE_SECONDS)
        return f"Load: {r['runs']} concurrent runs", load.render(r), load.summary(r)

    return run


def _load_cost(quick: bool) -> tuple[str, str, list[Row]]:
    n = 1 if quick else 7
    loads, engine = load_cost.measure(n)
    return "Magic load cost", load_cost.render(loads, engine, n), []


def _file_cost(quick: bool) -> tuple[str, str, list[Row]]:
    r = file_cost.measure(3 if quick else 25, csv_mb=1 if quick else 50)
    return file_cost.TITLE, file_cost.render(r), file_cost.summary(r)


def _output_bytes(quick: bool) -> tuple[str, str, list[Row]]:
    r = output_bytes.measure(0.2 if quick else 5)
    return output_bytes.TITLE, output_bytes.render(r), output_bytes.summary(r)


def _memory(quick: bool) -> tuple[str, str, list[Row]]:
    r = memory.measure(*((4, 10) if quick else (1000, 100)))
    return memory.TITLE, memory.render(r), memory.summary(r)


BENCHMARKS: dict[str, Callable[[bool], tuple[str, str, list[Row]]]] = {
    "loop_overhead": _loop_overhead,
    "server_cost": _server_cost,
    "model_turn": _model_turn,
    "load10": _load(10),
    "load20": _load(20),
    "load_cost": _load_cost,
    "file_cost": _file_cost,
    "output_bytes": _output_bytes,
    "memory": _memory,
}


def summary_table(rows: list[Row]) -> str:
    lines = [
        f"`python -m bench`, {time.strftime('%Y-%m-%d')}: each figure beside its baseline measured in the same run "
        "(the sections below say how).",
        "",
        "| figure | ours | baseline | ratio | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for figure, ours, baseline, target, met in rows:
        base = "—" if baseline is None else f"{baseline:.1f}"
        ratio = "—" if not baseline else f"{ours / baseline:.2f}x"
        lines.append(f"| {figure} | {ours:.1f} | {base} | {ratio} | {target} | {'yes' if met else '**no**'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="everything tiny, no timing asserted, nothing written")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these (repeatable)")
    args = parser.parse_args(argv)
    names = args.only or [n for n in BENCHMARKS if not (args.quick and n == "load20")]  # quick: load10 is 2 runs
    sections: list[tuple[str, str]] = []
    rows: list[Row] = []
    for name in names:
        started = time.monotonic()
        title, body, summary = BENCHMARKS[name](args.quick)
        print(f"== {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        sections.append((title, body))
        rows += summary
    table = summary_table(rows)
    print(table)
    if args.quick:
        for title, body in sections:
            print(f"## {title}\n\n{body}")
        return 0
    for title, body in sections:
        write_section(title, body)
    if args.only is None:
        write_section("Summary", table, first=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
