"""Writing one benchmark's section of docs/benchmarks.md, leaving the other sections as they are."""

from __future__ import annotations

import os

BENCHMARKS_MD = os.path.join(os.path.dirname(__file__), "..", "docs", "benchmarks.md")
HEADER = (
    "# Benchmarks\n\nPerformance is measured here, never asserted in timed unit tests. The machines are shared and "
    "noisy: read the ratios within one run. Re-run with the command named in each section.\n"
)


def write_section(title: str, body: str, path: str = BENCHMARKS_MD) -> None:
    """Replace the section headed ``## {title}`` (or append it) with ``body``."""
    text = HEADER
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    marker = f"## {title}"
    before, found, after = text.partition(marker)
    rest = ""
    if found and "\n## " in after:
        rest = "\n## " + after.split("\n## ", 1)[1]
    with open(path, "w") as f:
        f.write(before.rstrip() + f"\n\n{marker}\n\n{body.strip()}\n" + rest)
