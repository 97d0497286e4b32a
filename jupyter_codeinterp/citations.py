"""Which files a run wrote its answer names: the local form of the hosted tool's ``container_file_citation``.

An answer names a file by its path relative to the working folder (``cleaned.csv``, ``out/chart.png``), in a
markdown link or image, or as the ``sandbox:/mnt/data/NAME`` links that models trained on the hosted tool write by
habit, which resolve to the working folder. Each mention becomes ``{path, start, end}`` over ``answer[start:end]``.
"""

from __future__ import annotations

import re
from typing import Any

SANDBOX_PREFIXES = ("sandbox:/mnt/data/", "/mnt/data/")


def cite_files(answer: str, written: list[str]) -> list[dict[str, Any]]:
    """Every mention in ``answer`` of a file in ``written`` (its path, or a sandbox link to it), in order."""
    if not answer or not written:
        return []
    names = sorted(set(written), key=len, reverse=True)  # the longest first: out/a.csv before a.csv
    prefix = "|".join(re.escape(p) for p in SANDBOX_PREFIXES)
    alternatives = "|".join(re.escape(n) for n in names)
    pattern = re.compile(
        rf"(?<![\w./-])(?:(?:{prefix})|\./)?(?P<path>{alternatives})(?!\.?[\w/-])"
        rf"|(?:{prefix})(?P<base>[^\s)\]\"'<>]+)"
    )
    by_base = {name.rsplit("/", 1)[-1]: name for name in names}
    found: list[dict[str, Any]] = []
    for match in pattern.finditer(answer):
        path = match.group("path") or by_base.get(match.group("base") or "", "")
        if path:
            found.append({"path": path, "start": match.start(), "end": match.end()})
    return found
