"""Does memory stay flat? The server's RSS over many short runs, the kernel's over many steps of the magic.

Run: ``python bench/memory.py [--runs 1000] [--steps 100]`` (``--no-write``: print only; ``--profile``: where the
server's allocations grew between the first and the last sample, by tracemalloc). One real ``jupyter server``,
one kernel, the scripted model: ``--runs`` runs one after the other, each on a new thread, each one code step
printing ~1 KB and an answer; the server's RSS is read (``/proc``, or psutil when installed) after warming up and
every 100 runs. Then a kernel with ``%load_ext jupyter_codeinterp``: ``%%interpret`` runs of 10 steps each (each
printing ~10 KB, captured by the magic) until ``--steps`` steps, its RSS read after each run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench.report import as_users_run, write_section
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import TEST_KEY
from tests.test_server_restart import ServerProcess

TITLE = "Memory over many runs"
EVERY = 100  # runs between two samples of the server's RSS
STEPS_PER_RUN = 10  # of the magic


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (1e6 bytes)."""
    try:
        import psutil  # type: ignore[import-untyped]

        return float(psutil.Process(pid).memory_info().rss) / 1e6
    except ImportError:
        with open(f"/proc/{pid}/status") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return kb * 1024 / 1e6


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs``."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


#: Put first on the server's path with ``--profile``: the first SIGUSR2 (jupyter_server has SIGUSR1) starts
#: tracemalloc (started with the process it made the server too slow to start), each one writes a snapshot.
_SITECUSTOMIZE = r"""
import os, signal, tracemalloc
def _dump(signum, frame):
    if not tracemalloc.is_tracing():
        tracemalloc.start(8)
    folder = os.environ["BENCH_TRACEMALLOC_DIR"]
    path = os.path.join(folder, "snapshot-%d" % len(os.listdir(folder)))
    try:
        import collections, gc
        gc.collect()
        counts = collections.Counter()
        for o in gc.get_objects():
            module = getattr(type(o), "__module__", "")
            if isinstance(module, str) and module.startswith(("jupyter_codeinterp", "tornado.websocket")):
                counts[module + "." + type(o).__qualname__] += 1
        with open(path + ".counts", "w") as f:
            f.writelines("%d %s\n" % (n, name) for name, n in counts.most_common(12))
    except Exception as exc:
        with open(path + ".counts", "w") as f:
            f.write(repr(exc))
    tracemalloc.take_snapshot().dump(path + ".part")
    os.rename(path + ".part", path)
signal.signal(signal.SIGUSR2, _dump)
"""


def _snapshot(pid: int, folder: Path) -> Any:
    import signal
    import tracemalloc

    count = len(os.listdir(folder))
    os.kill(pid, signal.SIGUSR2)
    path = folder / f"snapshot-{count}"
    deadline = time.monotonic() + 120
    while not path.exists():
        assert time.monotonic() < deadline, "the server wrote no snapshot"
        time.sleep(0.05)
    return tracemalloc.Snapshot.load(str(path))


def _profiling(home: Path) -> tuple[dict[str, str], Path]:
    """What the server's environment needs for ``--profile``, and where its snapshots go."""
    site, snaps = home / "site", home / "snapshots"
    site.mkdir()
    snaps.mkdir()
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "BENCH_TRACEMALLOC_DIR": str(snaps)}, snaps


def server_rss(llm: ScriptedLLM, runs: int, every: int, *, profile: bool = False) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="codeinterp-memory-"))
    saved = dict(os.environ)
    env, snaps = _profiling(home) if profile else ({}, home)
    os.environ.update(env)
    try:
        server = ServerProcess(home, llm)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    samples: list[tuple[int, float]] = []
    first: Any = None
    growth: list[str] = []
    started = time.perf_counter()
    try:
        kernel = server.ok("POST", "/api/kernels", {"name": "python3"})["id"]
        for i in range(runs + every):  # the first ``every`` warm up (imports, caches, the store's pages)
            if i >= every and (i - every) % every == 0:
                samples.append((i - every, rss_mb(server.proc.pid)))
                if profile and first is None:
                    first = _snapshot(server.proc.pid, snaps)
            llm.script(code(f"print('{i:04d}' * 250)"), answer(f"Run {i} done."))
            run = server.start_run(kernel, f"run {i}", thread_id="new")
            events = server.events(run["run_id"])
            assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed", events[-1]
        samples.append((runs, rss_mb(server.proc.pid)))
        if profile:
            stats = _snapshot(server.proc.pid, snaps).compare_to(first, "traceback")
            counts = sorted(snaps.glob("*.counts"))  # after a gc.collect(): what is still referenced
            growth.append("objects of ours (after gc.collect()), first and last sample:")
            growth.extend("    " + ", ".join(c.read_text().splitlines()) for c in (counts[0], counts[-1]))
            for stat in stats[:8]:
                growth.append(f"{stat.size_diff / 1e3:+.1f} KB in {stat.count_diff:+d} blocks")
                growth.extend(f"    {line}" for line in stat.traceback.format()[-12:])
    finally:
        server.kill()
    return {"samples": samples, "seconds": time.perf_counter() - started, "growth": growth}


def _magic_cell(llm: ScriptedLLM, first: int) -> str:
    llm.script(*[code(f"print('{first + s:04d}' * 2500)") for s in range(STEPS_PER_RUN)], answer("Printed."))
    return f"%%interpret --new-thread --max-steps {STEPS_PER_RUN}\nPrint ten times."


def kernel_rss(llm: ScriptedLLM, steps: int) -> dict[str, Any]:
    """A kernel's RSS after each ``%%interpret`` run of ``STEPS_PER_RUN`` steps, from a warmed-up first run."""
    from jupyter_client.manager import KernelManager

    env = {
        **os.environ,
        "OPENAI_BASE_URL": llm.url,
        "OPENAI_API_KEY": TEST_KEY,
        "CODEINTERP_MODEL": "scripted-model",
        "JUPYTER_CONFIG_DIR": tempfile.mkdtemp(prefix="codeinterp-memory-config-"),
        "PYTHONPATH": os.path.join(os.path.dirname(__file__), ".."),
    }
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    samples: list[tuple[int, float]] = []
    try:
        kc.wait_for_ready(timeout=60)
        pid = km.provisioner.pid  # type: ignore[union-attr]

        def run(source: str) -> None:
            reply = kc.execute_interactive(source, timeout=120, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", reply["content"]

        run("%load_ext jupyter_codeinterp")
        run(_magic_cell(llm, 0))  # warm-up: the engine, openai and nbformat are imported by the first run
        samples.append((0, rss_mb(pid)))
        for done in range(STEPS_PER_RUN, steps + 1, STEPS_PER_RUN):
            run(_magic_cell(llm, done))
            samples.append((done, rss_mb(pid)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {"samples": samples}


def _figures(samples: list[tuple[int, float]], per: int) -> dict[str, float]:
    xs, ys = [float(x) for x, _ in samples], [y for _, y in samples]
    steps = [b - a for a, b in itertools.pairwise(ys)]
    return {
        "slope": slope(xs, ys) * per,
        "spread": statistics.pstdev(steps) if len(steps) > 1 else 0.0,
        "min": min(ys),
        "max": max(ys),
        "first": ys[0],
        "last": ys[-1],
    }


def measure(runs: int, steps: int, *, profile: bool = False) -> dict[str, Any]:
    as_users_run()
    with ScriptedLLM(api_key=TEST_KEY) as llm:
        server = server_rss(llm, runs, min(EVERY, runs), profile=profile)
        kernel = kernel_rss(llm, steps)
    return {
        "runs": runs,
        "steps": steps,
        "server": server,
        "kernel": kernel,
        "server_figures": _figures(server["samples"], EVERY),
        "kernel_figures": _figures(kernel["samples"], 100),
    }


def render(r: dict[str, Any]) -> str:
    s, k = r["server_figures"], r["kernel_figures"]
    server_samples = ", ".join(f"{y:.1f}" for _, y in r["server"]["samples"])
    kernel_samples = ", ".join(f"{y:.1f}" for _, y in r["kernel"]["samples"])
    return (
        f"`python bench/memory.py --runs {r['runs']} --steps {r['steps']}`: one real `jupyter server`, one kernel, "
        f"the scripted model; {r['runs']} runs one after the other (each a new thread, one code step printing ~1 KB "
        f"and an answer; {r['server']['seconds']:.0f} s), after {min(EVERY, r['runs'])} warm-up runs; then a kernel "
        f"running `%%interpret` ({STEPS_PER_RUN} steps a run, each printing ~10 KB through the magic's capture) for "
        f"{r['steps']} steps after a warm-up run. RSS in MB (1e6 bytes), {time.strftime('%Y-%m-%d')}.\n\n"
        "| measurement | value |\n|---|---:|\n"
        f"| server RSS, every {EVERY} runs (MB) | {server_samples} |\n"
        f"| server: slope (MB per {EVERY} runs) | {s['slope']:+.2f} |\n"
        f"| server: spread of the change per {EVERY} runs (stdev, MB) | {s['spread']:.2f} |\n"
        f"| server: min / max (MB) | {s['min']:.1f} / {s['max']:.1f} |\n"
        f"| kernel RSS, every {STEPS_PER_RUN} steps (MB) | {kernel_samples} |\n"
        f"| kernel: after {r['steps']} steps vs after the warm-up run (MB) | {k['last']:.1f} vs {k['first']:.1f} |\n"
        f"| kernel: slope (MB per 100 steps) | {k['slope']:+.2f} |\n"
    )


def summary(r: dict[str, Any]) -> list[tuple[str, float, float | None, str, bool]]:
    """For ``python -m bench``: (figure, ours, baseline, target, met)."""
    s, k = r["server_figures"], r["kernel_figures"]
    return [
        (
            f"server RSS after {r['runs']} runs vs after warm-up (MB)",
            s["last"],
            s["first"],
            f"flat: slope ≤ 1 MB per {EVERY} runs",
            s["slope"] <= 1.0,
        ),
        (
            f"kernel RSS after {r['steps']} magic steps vs after warm-up (MB)",
            k["last"],
            k["first"],
            "flat: slope ≤ 2 MB per 100 steps",
            k["slope"] <= 2.0,
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="tracemalloc in the server (see its log)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    result = measure(args.runs, args.steps, profile=args.profile)
    table = render(result)
    print(table)
    if args.profile:
        print("\n".join(result["server"]["growth"]))
    if not args.no_write:
        write_section(TITLE, table)
