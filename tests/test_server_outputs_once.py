"""Outputs travel and stay once: live as ``in_progress`` events, never repeated in ``completed`` unless they differ,
stored once, and every reader (live, reconnect, replay, GET, a restarted server's store) folds them the same."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from jupyter_codeinterp.runstate import RunState
from jupyter_codeinterp.store import Store
from jupyter_codeinterp.transcript import compact
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, read_until

LINES = 4000  # of 100 bytes: 0.4 MB in several live outputs
PRINTS = (
    "import sys, time\nline = 'y' * 99\nfor i in range(4):\n"
    f"    for _ in range({LINES // 4}):\n        print(line)\n"
    "    sys.stderr.write(f'part {i}\\n')\n    sys.stdout.flush()\n    time.sleep(0.1)"
)
PRINTED = LINES * 100 + len("part 0\n") * 4
UPDATED = "from IPython.display import display\nh = display('first', display_id=True)\nh.update('second')"


def _step_events(events: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "step" and e["stage"] == stage]


def _outputs(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [s["outputs"] for s in RunState.of(events).step_records()]


def _stored_bytes(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {
            table: db.execute(f"SELECT COALESCE(SUM(LENGTH(CAST({col} AS BLOB))), 0) FROM {table}").fetchone()[0]
            for table, col in (("events", "event"), ("steps", "outputs"), ("messages", "message"))
        }
    finally:
        db.close()


async def test_completed_events_repeat_no_streamed_output_and_every_reader_folds_the_same(
    api: Api, llm: ScriptedLLM, kernel_id: str, store_path: Path
) -> None:
    llm.script(code(PRINTS, chunk=200), answer("Printed."))
    run_id = (await api.start(kernel_id, "print a lot"))["run_id"]

    live = await api.all_events(run_id)
    # A client that dropped after the first output and came back from the seq it saw.
    run = await api.wait(run_id)
    ws = await api.events(run_id)
    first = await read_until(ws, lambda e: e.get("stage") == "in_progress" and "output" in e)
    ws.close()
    rest = await api.all_events(run_id, after=first[-1]["seq"])
    replay = await api.all_events(run_id)

    streamed = [e for e in _step_events(live, "in_progress") if "output" in e]
    assert len(streamed) > 2, "the outputs came live, in pieces"
    [completed] = _step_events(live, "completed")
    assert "outputs" not in completed, "nothing streamed is sent again"
    folded = _outputs(live)
    text = "".join(o["text"] for o in folded[0] if o["name"] == "stdout")
    assert len(text) == LINES * 100
    assert first + rest == replay == live
    assert _outputs(first + rest) == _outputs(replay) == folded == [s["outputs"] for s in run["steps"]]
    sent = sum(len(json.dumps(e)) for e in live)
    assert sent <= 1.3 * PRINTED, (sent, PRINTED)

    # Stored once: in the events; the step's row leaves its outputs to them.
    stored = _stored_bytes(store_path)
    assert stored["steps"] < 100, stored
    assert sum(stored.values()) <= 1.3 * PRINTED, (stored, PRINTED)


async def test_outputs_that_differ_from_the_live_ones_are_sent_and_stored_with_the_step(
    api: Api, llm: ScriptedLLM, kernel_id: str, store_path: Path
) -> None:
    llm.script(code(UPDATED), answer("Updated."))
    run_id = (await api.start(kernel_id, "update a display"))["run_id"]

    live = await api.all_events(run_id)
    run = await api.wait(run_id)

    [shown] = [e["output"] for e in _step_events(live, "in_progress") if "output" in e]
    assert shown["data"]["text/plain"] == "'first'"
    [completed] = _step_events(live, "completed")
    assert [o["data"]["text/plain"] for o in completed["outputs"]] == ["'second'"], "the display update went out"
    assert _outputs(live) == _outputs(await api.all_events(run_id)) == [s["outputs"] for s in run["steps"]]
    store = Store(str(store_path))
    try:
        assert store.steps(run_id)[0]["outputs"] == completed["outputs"]
    finally:
        store.close()


def test_the_store_folds_a_steps_outputs_from_its_events_and_keeps_a_completed_step_at_the_runs_end(
    tmp_path: Path,
) -> None:
    store = Store(str(tmp_path / "s.sqlite"))
    store.create_run("r-1", "t-1", "k", "", "p", "m", time.time(), new_thread_title="t")
    piece = {"output_type": "stream", "name": "stdout"}
    events: list[dict[str, Any]] = [
        {"type": "run_started", "thread_id": "t-1", "prompt": "p", "model": "m"},
        {"type": "step", "step": 1, "stage": "in_progress", "code": "print()"},
        {"type": "step", "step": 1, "stage": "in_progress", "output": {**piece, "text": "a\n"}},
        {"type": "step", "step": 1, "stage": "in_progress", "output": {**piece, "text": "b\n"}},
        {"type": "step", "step": 1, "stage": "completed", "code": "print()", "status": "ok", "elapsed": 0.1},
    ]
    for seq, event in enumerate(events, 1):
        store.append_event({"seq": seq, "run_id": "r-1", "time": 1.0, **event})
    want = [{**piece, "text": "a\nb\n"}]
    assert store.steps("r-1")[0]["outputs"] == want

    # The run's end records its steps again: a completed one stays as its event left it.
    record = {**RunState.of(store.events("r-1")).step_records()[0], "outputs": [{**piece, "text": "other"}]}
    store.finish_run("r-1", status="completed", reason="", answer="", usage={}, steps=[record], messages=[])
    assert store.steps("r-1")[0]["outputs"] == want
    # The notebook's copy of a run (the magic's bundle) drops the live pieces, so it puts them in completed.
    [done] = [e for e in compact(store.events("r-1")) if e.get("stage") == "completed"]
    assert done["outputs"] == want
    store.close()
