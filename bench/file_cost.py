"""What file tracking costs per step: the two silent folder snapshots around an execution, on a folder of 10 files
and of 10,000 (the scan stops at 2,000: bounded), against a bare silent execution on the same kernel; and the time
to profile a 50 MB CSV in the kernel (pandas reads 1,000 rows and counts lines)."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from jupyter_client.manager import AsyncKernelManager

from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.filetrack import SCAN_LIMIT, kernel_expression

TITLE = "File tracking cost"


async def _time(executor: KernelExecutor, expression: str, n: int) -> float:
    """Median ms of evaluating ``expression`` silently in the kernel."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        await executor.evaluate(expression, timeout=120)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


async def _measure(n: int, csv_mb: int) -> dict[str, Any]:
    results: dict[str, Any] = {"n": n, "csv_mb": csv_mb}
    with tempfile.TemporaryDirectory() as tmp:
        for files in (10, 10_000):
            folder = Path(tmp, f"f{files}")
            folder.mkdir()
            for i in range(files):
                (folder / f"file{i:05d}.txt").write_text("x")
            km = AsyncKernelManager(kernel_name="python3")
            await km.start_kernel(cwd=str(folder))
            executor = KernelExecutor(km)
            try:
                await executor.evaluate("0", timeout=60)  # warm
                bare = await _time(executor, "0", n)
                scan = await _time(executor, kernel_expression(f"scan({SCAN_LIMIT})"), n)
                # A step takes one snapshot (after it runs; the previous one is its "before"), the first one two.
                results[files] = {"bare": bare, "scan": scan, "per_step": scan}
                if files == 10:
                    big = folder / "big.csv"
                    with open(big, "w") as f:
                        row = "2026-01-01,North,12,345.67,some text here\n"
                        f.write("date,region,units,revenue,note\n")
                        f.write(row * (csv_mb * 1024 * 1024 // len(row)))
                    expr = kernel_expression("profile(['big.csv'], 1500)")
                    await executor.evaluate(kernel_expression("profile(['file00000.txt'], 100)"), timeout=120)
                    results["profile_ms"] = await _time(executor, expr, max(1, n // 5))
            finally:
                executor.close()
                await km.shutdown_kernel(now=True)
    return results


def measure(n: int = 25, csv_mb: int = 50) -> dict[str, Any]:
    return asyncio.run(_measure(n, csv_mb))


def render(r: dict[str, Any]) -> str:
    lines = [
        f"Median of {r['n']} silent evaluations in a real kernel. A step adds one snapshot, one kernel round trip "
        '(its "before" is the previous step\'s "after"; a run\'s first step adds two); the bare silent execution '
        "is that round trip with nothing to do.",
        "",
        "| folder | bare silent execution (ms) | added per step: one snapshot (ms) |",
        "|---|---:|---:|",
    ]
    for files in (10, 10_000):
        x = r[files]
        lines.append(f"| {files:,} files | {x['bare']:.2f} | {x['scan']:.2f} |")
    lines += ["", f"Profiling a {r['csv_mb']} MB CSV in the kernel: {r['profile_ms']:.0f} ms."]
    return "\n".join(lines) + "\n"


def summary(r: dict[str, Any]) -> list[tuple[str, float, float | None, str, bool]]:
    small, large = r[10], r[10_000]
    return [
        ("file tracking per step, 10 files (ms)", small["per_step"], small["bare"], "≤ 5 ms", small["per_step"] <= 5),
        (
            "file tracking per step, 10,000 files (ms)",
            large["per_step"],
            large["bare"],
            "bounded (2,000 scanned)",
            True,
        ),
        (f"profile of a {r['csv_mb']} MB CSV (ms)", r["profile_ms"], None, "—", True),
    ]


if __name__ == "__main__":
    print(render(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 25)))
