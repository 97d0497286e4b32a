"""``labextension/src/events.ts`` mirrors ``jupyter_codeinterp/events.py`` field for field (no browser needed)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from jupyter_codeinterp import events

TS = (Path(__file__).resolve().parents[2] / "labextension" / "src" / "events.ts").read_text()

PAIRS = {
    "RunStartedEvent": "IRunStartedEvent",
    "TextDeltaEvent": "ITextDeltaEvent",
    "StepEvent": "IStepEvent",
    "UsageEvent": "IUsageEvent",
    "KernelRestartedEvent": "IKernelRestartedEvent",
    "NoticeEvent": "INoticeEvent",
    "RunEndedEvent": "IRunEndedEvent",
    "Usage": "IUsage",
}


def _ts_fields(name: str) -> dict[str, bool]:
    """Field -> required, of a TypeScript interface (and the IBase it extends)."""
    match = re.search(rf"interface {name}(?: extends (\w+))? \{{(.*?)\n\}}", TS, re.S)
    assert match, f"interface {name} missing from events.ts"
    fields = {m.group(1): m.group(2) != "?" for m in re.finditer(r"^\s+(\w+)(\??):", match.group(2), re.M)}
    if match.group(1):
        fields.update(_ts_fields(match.group(1)))
    return fields


def _ts_union(name: str) -> set[str]:
    match = re.search(rf"export type {name} =(.*?);", TS, re.S)
    assert match, f"type {name} missing from events.ts"
    return set(re.findall(r"'(\w+)'", match.group(1)))


def test_every_event_has_the_same_fields() -> None:
    for py_name, ts_name in PAIRS.items():
        cls = getattr(events, py_name)
        hints = typing.get_type_hints(cls, include_extras=True)
        py_fields = {k: "NotRequired" not in repr(v) for k, v in hints.items()}
        assert _ts_fields(ts_name) == py_fields, py_name


def test_the_literal_sets_match() -> None:
    for name in ("Stage", "StepStatus", "RunStatus"):
        assert _ts_union(name) == set(typing.get_args(getattr(events, name))), name
    assert f"EVENTS_VERSION = {events.EVENTS_VERSION};" in TS
    ts_final = set(re.findall(r"'(\w+)'", TS.split("FINAL_STATUSES")[1].split(";")[0]))
    assert ts_final == set(events.FINAL_STATUSES)
