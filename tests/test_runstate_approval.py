"""The fold of approval events (runstate.py), rule for rule as labextension/test/approvalFold.test.ts."""

from __future__ import annotations

from typing import Any

from jupyter_codeinterp.runstate import RunState


def ev(seq: int, type: str, **fields: Any) -> dict[str, Any]:
    return {"seq": seq, "run_id": "r1", "type": type, "time": 100.0 + seq, **fields}


PAUSED = [
    ev(1, "run_started", thread_id="t1", prompt="Clean up", model="m"),
    ev(2, "step", step=1, stage="started"),
    ev(3, "step", step=1, stage="code_delta", delta="import shutil"),
    ev(4, "approval_requested", step=1, code="import shutil; shutil.rmtree('data')"),
]


def test_a_paused_run_is_active_and_shows_the_exact_code_awaiting_a_decision() -> None:
    state = RunState.of(PAUSED)
    assert state.status == "waiting_for_approval" and state.active and not state.final
    assert state.pending_approval == {"step": 1, "code": "import shutil; shutil.rmtree('data')"}
    assert state.steps[1].code == "import shutil; shutil.rmtree('data')", "the step shows what would run"
    assert state.steps[1].status == "running" and not state.steps[1].done


def test_a_decision_resumes_the_run_and_the_edited_code_is_what_the_step_holds() -> None:
    state = RunState.of(
        [
            *PAUSED,
            ev(5, "approval_decided", step=1, decision="edit", code="print('kept')", by="ada"),
            ev(6, "step", step=1, stage="in_progress", code="print('kept')"),
        ]
    )
    assert (state.status, state.pending_approval) == ("running", None)
    assert state.steps[1].code == "print('kept')"


def test_a_run_ended_while_paused_has_nothing_pending() -> None:
    end = ev(5, "run_ended", status="cancelled", reason="x", answer="", usage={}, steps=1)
    state = RunState.of([*PAUSED, end])
    assert (state.status, state.pending_approval) == ("cancelled", None)
