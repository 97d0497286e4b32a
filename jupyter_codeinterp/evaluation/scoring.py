"""Scoring DABench's way: ``@name[value]`` sub-answers, right on an exact match or numerically within the gold
answer's precision; ABQ (every sub-answer right), PSAQ (mean share of sub-answers right per question) and UASQ
(share of all sub-answers right), overall and by level."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

ANSWER = re.compile(r"@(\w+)\[(.*?)\]", re.DOTALL)


def parse_answers(text: str) -> dict[str, str]:
    """The ``@name[value]`` answers in ``text``; a name given twice keeps its last value."""
    return {name: value.strip() for name, value in ANSWER.findall(text or "")}


def _number(text: str) -> float | None:
    cleaned = text.strip().rstrip("%").replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _decimals(text: str) -> int:
    cleaned = text.strip().rstrip("%")
    if "e" in cleaned.lower() or "." not in cleaned:
        return 0
    return len(cleaned.split(".", 1)[1])


def matches(gold: str, got: str | None, tolerance: float | None = None) -> bool:
    """Exact (case and surrounding space aside), or numbers equal within ``tolerance`` or the gold's precision
    (gold ``0.52`` takes anything that rounds to it: within 0.005)."""
    if got is None:
        return False
    if gold.strip().lower() == got.strip().lower():
        return True
    g, v = _number(gold), _number(got)
    if g is None or v is None:
        return False
    allowed = tolerance if tolerance is not None else 0.5 * 10 ** -_decimals(gold)
    return abs(g - v) <= allowed + 1e-9 * max(1.0, abs(g))


def score(gold: list[tuple[str, str]], answer: str, tolerance: float | None = None) -> dict[str, bool]:
    """Each gold sub-answer's name -> whether the answer got it right."""
    parsed = parse_answers(answer)
    return {name: matches(value, parsed.get(name), tolerance) for name, value in gold}


def _rates(results: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(results)
    subs = [ok for r in results for ok in r["correct"].values()]
    shares = [sum(r["correct"].values()) / len(r["correct"]) for r in results if r["correct"]]
    return {
        "tasks": n,
        "abq": sum(1 for r in results if r["correct"] and all(r["correct"].values())) / n if n else 0.0,
        "psaq": sum(shares) / n if n else 0.0,
        "uasq": sum(subs) / len(subs) if subs else 0.0,
        "sub_answers": len(subs),
    }


def summarize(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``summary.json``: the three rates as fractions (0-1) with counts, by level, and what the runs cost."""
    rows = list(results)
    by_level: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_level.setdefault(row.get("level") or "-", []).append(row)
    failures: dict[str, int] = {}
    for row in rows:
        if row.get("failure"):
            failures[row["failure"]] = failures.get(row["failure"], 0) + 1
    n = len(rows)
    return {
        **_rates(rows),
        "by_level": {level: _rates(group) for level, group in sorted(by_level.items())},
        "failures": dict(sorted(failures.items())),
        "steps_mean": sum(r["steps"] for r in rows) / n if n else 0.0,
        "tokens_total": sum(r["tokens"] for r in rows),
        "wall_seconds_total": round(sum(r["wall_seconds"] for r in rows), 3),
    }


def table(summary: dict[str, Any]) -> str:
    """The summary as a small text table (printed at the end of a run)."""
    lines = [f"{'level':<10} {'tasks':>5} {'ABQ':>7} {'PSAQ':>7} {'UASQ':>7}"]
    rows = [*summary["by_level"].items(), ("all", summary)]
    for level, s in rows:
        lines.append(f"{level:<10} {s['tasks']:>5} {s['abq']:>7.1%} {s['psaq']:>7.1%} {s['uasq']:>7.1%}")
    failures = ", ".join(f"{k} {v}" for k, v in summary["failures"].items()) or "none"
    lines.append(
        f"steps/task {summary['steps_mean']:.1f}, tokens {summary['tokens_total']}, "
        f"wall {summary['wall_seconds_total']:.1f} s, failures: {failures}"
    )
    return "\n".join(lines)
