"""The one fold of the event stream (runstate.py) and the one cell format (cells.py): pure, fast specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_codeinterp.cells import run_cells
from jupyter_codeinterp.runstate import OutputList, RunState, settle

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "cells").glob("*.json"))


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


def ev(seq: int, type: str, **fields: Any) -> dict[str, Any]:
    return {"seq": seq, "run_id": "r1", "type": type, "time": 100.0 + seq, **fields}


def test_streams_of_the_same_name_merge_and_others_do_not() -> None:
    assert settle([stream("a"), stream("b"), stream("!", "stderr"), stream("c")]) == [
        stream("ab"),
        stream("!", "stderr"),
        stream("c"),
    ]


def test_clear_output_clears_at_once_or_at_the_next_output_when_waiting() -> None:
    outputs = OutputList.of([stream("old\n"), {"output_type": "clear_output", "wait": True}])
    assert outputs.items == [stream("old\n")], "wait=True keeps the old output until something replaces it"
    outputs.add(stream("new\n"))
    assert outputs.items == [stream("new\n")]
    outputs.add({"output_type": "clear_output", "wait": False})
    assert outputs.items == []


def test_a_run_folds_into_items_in_the_order_they_happened() -> None:
    state = RunState.of(
        [
            ev(1, "run_started", thread_id="t1", prompt="Add", model="m"),
            ev(2, "text_delta", delta="Let me "),
            ev(3, "text_delta", delta="compute."),
            ev(4, "step", step=1, stage="started"),
            ev(5, "step", step=1, stage="code_delta", delta="print("),
            ev(6, "step", step=1, stage="code_delta", delta="2)"),
            ev(7, "step", step=1, stage="in_progress", code="print(2)"),
            ev(8, "step", step=1, stage="in_progress", output=stream("2\n")),
        ]
    )
    assert state.active and not state.final
    assert [item.kind for item in state.items] == ["text", "step"]
    assert state.items[0].text == "Let me compute."
    step = state.steps[1]
    assert (step.code, step.outputs.items, step.status, step.running_since) == (
        "print(2)",
        [stream("2\n")],
        "running",
        107.0,
    )
    state.apply(
        ev(
            9,
            "step",
            step=1,
            stage="completed",
            code="print(2)",
            outputs=[stream("2\n")],
            status="ok",
            execution_count=1,
            elapsed=0.1,
        )
    )
    state.apply(ev(10, "text_delta", delta="It is 2."))
    state.apply(
        ev(11, "run_ended", status="completed", reason="", answer="It is 2.", usage={"total_tokens": 5}, steps=1)
    )
    assert state.final and state.status == "completed" and state.answer == "It is 2."
    assert [item.kind for item in state.items] == ["text", "step", "text"], "the streamed answer is not repeated"
    assert state.usage == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 5}
    assert state.step_records()[0]["execution_count"] == 1


def test_an_event_applied_twice_or_of_another_run_changes_nothing() -> None:
    state = RunState.of([ev(1, "run_started", thread_id="t", prompt="p", model="m"), ev(2, "text_delta", delta="a")])
    assert not state.apply(ev(2, "text_delta", delta="a"))
    assert not state.apply({**ev(3, "text_delta", delta="b"), "run_id": "other"})
    assert state.text == "a"


def test_an_answer_that_did_not_stream_still_shows() -> None:
    state = RunState.of(
        [
            ev(1, "run_started", thread_id="t", prompt="p", model="m"),
            ev(2, "run_ended", status="completed", reason="", answer="Done.", usage={}, steps=0),
        ]
    )
    assert [(i.kind, i.text) for i in state.items] == [("text", "Done.")]


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_golden_cells(path: Path) -> None:
    """The cell format (docs/cells.md), pinned by real runs' event logs; labextension's unit tests read the same."""
    fixture = json.loads(path.read_text())
    events = fixture["events"]
    for checkpoint in fixture["checkpoints"]:
        assert run_cells(RunState.of(events[: checkpoint["after_seq"]])) == checkpoint["cells"]
    assert run_cells(RunState.of(events)) == fixture["cells"]


def test_the_fixtures_cover_every_ending() -> None:
    endings = {RunState.of(json.loads(p.read_text())["events"]).status for p in FIXTURES}
    assert {"completed", "failed"} <= endings


def test_text_of_a_cut_off_reply_is_taken_back_when_it_is_asked_again() -> None:
    state = RunState.of(
        [
            ev(1, "run_started", thread_id="t", prompt="p", model="m"),
            ev(2, "text_delta", delta="The answer is 4"),
            ev(3, "notice", level="warning", message="cut off; asking again", retract_text="The answer is 4"),
            ev(4, "text_delta", delta="The answer is 42."),
        ]
    )
    assert [(i.kind, i.text) for i in state.items] == [
        ("notice", "cut off; asking again"),
        ("text", "The answer is 42."),
    ]
