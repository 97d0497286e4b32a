"""The SQLite store: transactional writes that a crash cannot tear, and recovery of interrupted runs."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_codeinterp.store import Store, StoreError, StoreFailure

REPO = Path(__file__).resolve().parent.parent

#: A writer that appends events (each with its run's last_seq, in one transaction) as fast as it can.
WRITER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from jupyter_codeinterp.store import Store
store = Store(sys.argv[1])
store.create_thread("t-1", "a.ipynb", "title")
store.create_run("r-1", "t-1", "k-1", "a.ipynb", "prompt", "model", time.time())
print("ready", flush=True)
seq = 0
while True:
    seq += 1
    store.append_event({"seq": seq, "run_id": "r-1", "type": "text_delta", "time": time.time(), "delta": "x" * 2000})
    if seq % 50 == 0:
        store.append_event({"seq": seq + 1, "run_id": "r-1", "type": "usage", "time": time.time(),
                            "usage": {"prompt_tokens": seq, "completion_tokens": 0, "total_tokens": seq}})
        seq += 1
"""


@pytest.mark.parametrize("attempt", range(3))
def test_a_process_killed_mid_write_leaves_a_readable_consistent_store(tmp_path: Path, attempt: int) -> None:
    path = tmp_path / "store.sqlite"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(REPO)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    time.sleep(0.3 + 0.2 * attempt)
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    store = Store(str(path))
    seqs = [e["seq"] for e in store.events("r-1")]
    assert len(seqs) > 10
    assert seqs == list(range(1, len(seqs) + 1))  # no torn or missing write
    run = store.get_run("r-1")
    assert run is not None and run["last_seq"] == seqs[-1]  # updated in the same transaction as the event

    assert store.fail_interrupted_runs("The server restarted.") == ["r-1"]
    [ended] = store.events("r-1", after=seqs[-1])
    assert ended["type"] == "run_ended" and ended["status"] == "failed" and ended["seq"] == seqs[-1] + 1
    assert store.get_run("r-1")["status"] == "failed"  # type: ignore[index]
    assert store.fail_interrupted_runs("again") == []
    store.close()


def test_finish_run_is_all_or_nothing(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s.sqlite"))
    store.create_thread("t-1", "", "title")
    store.create_run("r-1", "t-1", "k", "", "p", "m", time.time())
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    good_step = {"step": 1, "code": "6 * 7", "outputs": [], "status": "ok", "execution_count": 1, "elapsed": 0.1}
    bad_step = {"step": 2, "code": "", "outputs": {object()}, "status": "ok"}  # cannot be stored

    with pytest.raises(TypeError):
        store.finish_run(
            "r-1",
            status="completed",
            reason="",
            answer="42",
            usage=usage,
            steps=[good_step, bad_step],
            messages=[{"role": "user", "content": "p"}],
        )
    run = store.get_run("r-1")
    assert run is not None and (run["status"], run["answer"], run["steps"]) == ("queued", "", [])
    assert store.thread_messages("t-1") == []

    messages = [{"role": "user", "content": "p"}, {"role": "assistant", "content": "42"}]
    store.finish_run(
        "r-1", status="completed", reason="", answer="42", usage=usage, steps=[good_step], messages=messages
    )
    run = store.get_run("r-1")
    assert run is not None and (run["status"], run["answer"], run["usage"]) == ("completed", "42", usage)
    assert [s["code"] for s in run["steps"]] == ["6 * 7"]
    assert store.thread_messages("t-1") == messages


def test_a_store_from_a_newer_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="db_path"):
        Store(path)


def test_text_from_the_model_or_the_kernel_that_utf8_cannot_encode_is_kept_with_a_replacement_character(
    tmp_path: Path,
) -> None:
    # Requests with such text are refused (400); a model's or a kernel's output cannot be, and must not be lost.
    store = Store(str(tmp_path / "s.sqlite"))
    store.create_thread("t-1", "", "title")
    store.create_run("r-1", "t-1", "k", "", "p", "m", time.time())
    store.append_event({"seq": 1, "run_id": "r-1", "type": "text_delta", "delta": "a\ud800b"})
    step = {"step": 1, "code": "print('\udfff')", "outputs": [{"text": "\ud83d"}], "status": "ok", "message": "\udc00"}
    store.finish_run("r-1", status="completed", reason="\ud800", answer="x\ud800y", usage={}, steps=[step], messages=[])
    assert store.events("r-1")[0]["delta"] == "a\ufffdb"
    run = store.get_run("r-1")
    assert run is not None and (run["answer"], run["reason"]) == ("x\ufffdy", "\ufffd")
    assert run["steps"][0]["code"] == "print('\ufffd')" and run["steps"][0]["outputs"] == [{"text": "\ufffd"}]
    store.close()


def test_a_store_at_its_size_limit_refuses_writes_as_a_full_disk_and_keeps_what_it_had(tmp_path: Path) -> None:
    # SQLite's own limit (max_page_count) answers SQLITE_FULL exactly as a full disk does (tests/test_faults_store.py
    # fills a real one).
    path = tmp_path / "s.sqlite"
    store = Store(str(path))
    store.create_run("r-1", "t-1", "k", "", "p", "m", time.time(), new_thread_title="title")
    db = store._db
    assert db is not None
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreFailure) as full:
        for seq in range(1, 1000):
            store.append_event({"seq": seq, "run_id": "r-1", "type": "text_delta", "delta": "x" * 2000})
    assert (full.value.cause, full.value.path) == ("disk_full", str(path)) and str(path) in full.value.message
    written = store.events("r-1")
    assert [e["seq"] for e in written] == list(range(1, len(written) + 1))  # the failed write left nothing behind
    assert store.get_run("r-1") is not None  # reads go on

    db.execute("PRAGMA max_page_count = 1073741823")
    store.append_event({"seq": len(written) + 1, "run_id": "r-1", "type": "text_delta", "delta": "back"})
    assert store.events("r-1")[:-1] == written and store.events("r-1")[-1]["delta"] == "back"
    store.close()


def test_a_store_that_cannot_be_opened_says_why_and_opens_once_it_can(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the store's folder should be")
    path = blocker / "store.sqlite"
    opened: list[bool] = []

    store = Store(str(path), on_open=lambda: opened.append(True))  # does not raise: the server starts anyway
    failure = store.check()
    assert failure is not None and failure.cause == "unavailable" and str(path) in failure.message
    with pytest.raises(StoreFailure):
        store.list_threads()
    assert opened == []

    blocker.unlink()
    assert store.check() is None and opened == [True]
    assert store.list_threads() == []
    store.close()
