"""Writing one benchmark's section of docs/benchmarks.md, leaving the other sections as they are."""

from __future__ import annotations

import os

BENCHMARKS_MD = os.path.join(os.path.dirname(__file__), "..", "docs", "benchmarks.md")
HEADER = (
    "# Benchmarks\n\nPerformance is measured here, never asserted in timed unit tests. The machines are shared and "
    "noisy: read the ratios within one run. `python -m bench` runs them all and rewrites this page (`--quick`: a "
    "smoke check, nothing written); the command named in each section re-runs that one.\n"
)


def as_users_run() -> None:
    """Measure what users run: importing the test helpers (tests/conftest.py) turns on the check of every event
    against the JSON Schema (``CODEINTERP_CHECK_EVENTS``), for this process and the servers it starts, which
    took about half the server's CPU under load."""
    os.environ.pop("CODEINTERP_CHECK_EVENTS", None)


def write_section(title: str, body: str, path: str = BENCHMARKS_MD, *, first: bool = False) -> None:
    """Replace the section headed ``## {title}`` with ``body``; a new one goes last (``first``: right after the
    page's opening paragraph)."""
    text = HEADER
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    marker = f"## {title}"
    if first and marker not in text:
        head, sep, rest = text.partition("\n## ")
        text = head.rstrip() + f"\n\n{marker}\n\n" + (sep.lstrip("\n") + rest if sep else "")
    before, found, after = text.partition(marker)
    rest = ""
    if found and "\n## " in after:
        rest = "\n## " + after.split("\n## ", 1)[1]
    with open(path, "w") as f:
        f.write(before.rstrip() + f"\n\n{marker}\n\n{body.strip()}\n" + rest)
