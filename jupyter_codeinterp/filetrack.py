"""Files in and out of a run, as a run hook: what the model is told of the files it gets, and what each step wrote.

Both are computed in the kernel (``inkernel_files``), asked silently (no output, no execution count), so they see
the kernel's disk: the notebook's folder, a remote kernel's, or the sandbox's view. At the run's first model call the
model is told a compact profile of each attached file and, on a thread's first turn, of the data files in the folder
(bounded). Around each execution the folder is snapshotted, and the files the step created or changed are the step's
``files``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hooks import RUN, Decision, RunHooks

if TYPE_CHECKING:
    from .executor import ExecResult
    from .loopstate import LoopState

log = logging.getLogger(__name__)

#: Evaluates a Python expression in the kernel, silently, and returns its value (a str here), or raises.
Evaluate = Callable[[str], Awaitable[Any]]

#: Files looked at per snapshot: a larger folder is scanned this far (the step says the scan was cut short).
SCAN_LIMIT = 2000
#: Files reported per step.
MAX_REPORTED = 50
#: Characters of one file's profile, and of all the profiles told at once.
PROFILE_CHARS = 1500
PROFILES_CHARS = 8000
#: Data files of the folder profiled on a thread's first turn.
FOLDER_FILES = 8


@functools.cache
def _source() -> str:
    return (Path(__file__).with_name("inkernel_files.py")).read_text(encoding="utf-8")


@functools.cache
def _module_name() -> str:
    """Named by the source's hash: a kernel that outlives an upgrade loads the new code beside the old."""
    return "_codeinterp_files_" + hashlib.sha1(_source().encode()).hexdigest()[:12]


def kernel_expression(call: str) -> str:
    """An expression that evaluates ``call`` (e.g. ``scan(2000)``) with ``inkernel_files`` loaded as a module of
    the kernel's own: compiled once per kernel and kept in ``sys.modules``, never in the user's namespace."""
    name = _module_name()
    load = (
        f"(lambda m: (exec(compile({_source()!r}, {name!r}, 'exec'), m.__dict__), "
        f"__import__('sys').modules.__setitem__({name!r}, m), m)[2])(__import__('types').ModuleType({name!r}))"
    )
    return f"(__import__('sys').modules.get({name!r}) or {load}).{call}"


class FileTracker(RunHooks):
    """``attached``: absolute paths on the server's disk (told to the model relative to the kernel's folder when
    they are in it); ``first_turn``: the thread's first run (the folder's data files are profiled then). Call
    ``bind`` with the kernel's evaluator before the run starts."""

    def __init__(self, attached: list[str] | None = None, *, first_turn: bool = True) -> None:
        self.attached = list(attached or [])
        self.first_turn = first_turn
        self._evaluate: Evaluate | None = None
        self._told = False
        self._before: dict[str, list[int]] | None = None

    def bind(self, evaluate: Evaluate | None) -> None:
        self._evaluate = evaluate

    async def _call(self, call: str) -> Any:
        if self._evaluate is None:
            return None
        try:
            text = await self._evaluate(kernel_expression(call))
            return json.loads(text) if isinstance(text, str) else None
        except Exception:  # a busy or non-Python kernel: no file tracking, the run goes on
            log.debug("codeinterp: the kernel did not answer %s", call.split("(")[0], exc_info=True)
            return None

    async def turn_notes(self, state: LoopState) -> str:
        """The profiles told with this run's prompt (once): attached files, and on a first turn the folder's."""
        if self._told:
            return ""
        self._told = True
        if not self.attached and not self.first_turn:
            return ""
        snapshot = await self._call(f"scan({SCAN_LIMIT})")
        root = snapshot["root"] if snapshot else ""
        attached = [_relative(path, root) for path in self.attached]
        paths = list(attached)
        if self.first_turn and snapshot:
            data = [p for p in snapshot["files"] if _is_data(p) and p not in paths]
            paths += sorted(data, key=lambda p: -snapshot["files"][p][0])[:FOLDER_FILES]
        if not paths:
            return ""
        profiles = await self._call(f"profile({paths!r}, {PROFILE_CHARS})") or {}
        parts: list[str] = []
        used = 0
        for path in paths:
            text = profiles.get(path)
            if text is None:
                continue
            mark = " (attached)" if path in attached else ""
            part = f"- {path}{mark}: {text}"
            if used + len(part) > PROFILES_CHARS:
                parts.append(f"- ... {len(paths) - len(parts)} more file(s) not profiled here (too long)")
                break
            parts.append(part)
            used += len(part)
        return "Files in the working folder, profiled:\n" + "\n".join(parts) if parts else ""

    async def before_execute(self, state: LoopState, step: int, code: str) -> Decision:
        # The snapshot after the previous step serves as this one's "before": one kernel round trip per step, not
        # two (a file changed by hand while the model thought is then counted as this step's).
        if self._before is None:
            snapshot = await self._call(f"scan({SCAN_LIMIT})")
            self._before = snapshot["files"] if snapshot else None
        return RUN

    async def after_execute(self, state: LoopState, step: int, code: str, result: ExecResult) -> None:
        if self._before is None:
            return
        snapshot = await self._call(f"scan({SCAN_LIMIT})")
        if not snapshot:
            return
        changed = diff(self._before, snapshot["files"])
        result.files = changed[:MAX_REPORTED]
        result.files_truncated = bool(snapshot["truncated"]) or len(changed) > MAX_REPORTED
        self._before = snapshot["files"]


def diff(before: dict[str, list[int]], after: dict[str, list[int]]) -> list[dict[str, Any]]:
    """The files created or changed between two snapshots, in path order."""
    out = []
    for path in sorted(after):
        size, mtime = after[path]
        old = before.get(path)
        if old is None:
            out.append({"path": path, "size": size, "change": "created"})
        elif old != [size, mtime] and not path.endswith(".ipynb"):  # notebooks are saved by their editors
            out.append({"path": path, "size": size, "change": "modified"})
    return out


def _relative(path: str, root: str) -> str:
    """``path`` relative to the kernel's folder ``root`` when it is inside it, else as it is."""
    if root and (path == root or path.startswith(root.rstrip("/") + "/")):
        return path[len(root.rstrip("/")) + 1 :]
    return path


def _is_data(path: str) -> bool:
    from .inkernel_files import DATA_TYPES

    return "/" not in path and Path(path).suffix.lower() in DATA_TYPES - {".md", ".txt"}
