"""A store written by an earlier release opens upgraded, with nothing lost; one from a newer release is refused."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from jupyter_codeinterp.history import UNANSWERED, repaired
from jupyter_codeinterp.store import SCHEMA_VERSION, Store, StoreError

V1 = Path(__file__).parent / "fixtures" / "store" / "v1.sqlite"


def rows(path: Path, table: str, columns: str = "*") -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return sorted(db.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
    finally:
        db.close()


def test_a_store_of_schema_1_is_upgraded_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    shutil.copy(V1, path)
    before = {t: rows(path, t) for t in ("threads", "runs", "steps", "events")}
    old_messages = rows(path, "messages", "thread_id, idx, run_id, message")

    store = Store(str(path))
    run = store.get_run("run-completed_with_fix")
    assert run is not None and run["status"] == "completed" and run["answer"] == "The answer is **42**."
    assert [s["status"] for s in run["steps"]] == ["error", "ok"]
    assert len(store.events("run-completed_with_fix")) == 37
    assert [m["role"] for m in store.thread_messages("thread-fix")] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    # The old store goes on working: a new event with its messages, and the recovery of the run left running.
    store.append_event(
        {"seq": 2, "run_id": "run-interrupted", "type": "text_delta", "time": 1.0, "delta": "Next"},
        [{"role": "user", "content": "And then?"}],
    )
    assert store.fail_interrupted_runs("restarted") == ["run-interrupted"]
    store.close()

    assert rows(path, "meta") == [("schema_version", str(SCHEMA_VERSION))]
    assert rows(path, "threads") == before["threads"]
    v1_steps = "run_id, step, code, outputs, status, execution_count, elapsed, message"
    assert rows(path, "steps", v1_steps) == before["steps"], "every step kept as it was"
    assert set(rows(path, "steps", "files, files_truncated")) == {("[]", 0)}, "schema 3: no files recorded then"
    assert run["files"] == [] and run["annotations"] == [] and run["steps"][0]["files"] == []
    assert set(before["events"]) <= set(rows(path, "events")), "every event kept"
    assert set(old_messages) <= set(rows(path, "messages", "thread_id, idx, run_id, message"))
    assert (2,) in rows(path, "messages", "seq"), "new messages carry the seq of their event"


def test_a_store_of_a_newer_release_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    shutil.copy(V1, path)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"written by a newer jupyter-codeinterp \(schema 99"):
        Store(str(path))
    assert rows(path, "meta") == [("schema_version", "99")]
    assert "seq" not in [c[1] for c in sqlite3.connect(path).execute("PRAGMA table_info(messages)")]


def test_a_new_store_has_the_latest_schema(tmp_path: Path) -> None:
    Store(str(tmp_path / "new.sqlite")).close()
    assert rows(tmp_path / "new.sqlite", "meta") == [("schema_version", str(SCHEMA_VERSION))]


def test_tool_calls_a_crash_left_unanswered_are_answered_in_place() -> None:
    call = {"role": "assistant", "content": None, "tool_calls": [{"id": "a"}, {"id": "b"}]}
    history = [{"role": "user", "content": "go"}, call, {"role": "tool", "tool_call_id": "a", "content": "1"}]
    fixed = repaired([*history, {"role": "user", "content": "again"}])
    assert fixed[3] == {"role": "tool", "tool_call_id": "b", "content": UNANSWERED}
    assert fixed[4]["content"] == "again"
    assert repaired(fixed) == fixed
