"""Persistent record of threads, runs, steps, events and chat messages, in one SQLite file.

The server owns a run, not a browser tab, so everything a client may need after a reload or a server restart
is written here as it happens. SQLite in WAL mode gives transactional writes and a file that stays
readable if the process dies mid-write; ``synchronous=NORMAL`` avoids an fsync per event (a power cut may lose
the last few events, never the file's consistency).

The store is synchronous and is used from the server's event loop thread only: each write is one small
transaction (tens of microseconds), cheaper than handing it to a thread.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from .events import run_ended
from .history import repaired, unanswered_tail
from .runstate import ACTIVE_STATUSES, RunState
from .store_errors import StoreError, StoreFailure, classify
from .store_schema import SCHEMA_VERSION, migrate

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "StoreFailure"]

_RUN_COLUMNS = (
    "run_id, thread_id, kernel_id, notebook_path, prompt, model, status, reason, answer, usage, "
    "created, ended, last_seq, files, annotations"
)
#: Runs in these statuses were going on when their server stopped (``runstate.ACTIVE_STATUSES``).
_ACTIVE = tuple(sorted(ACTIVE_STATUSES))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str) -> str:
    """``value`` as SQLite can store it: what a model or a kernel sends may hold lone surrogates, which UTF-8 cannot
    encode; they become U+FFFD rather than losing the whole write. (Requests are refused such text with a 400.)"""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def _dumps(value: Any) -> str:
    return _text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


class Store:
    """Threads, runs, steps, events and messages. Every public write is one transaction.

    A store that cannot be used raises ``StoreFailure`` (saying why, with its path) from any call, and never
    takes the server down with it: one that could not be opened is tried again at the next call, and
    ``on_open`` runs once it opens; a full disk fails the writes until there is space again, and what was
    written before stays as it was.
    """

    def __init__(self, path: str, *, on_open: Callable[[], object] | None = None) -> None:
        self.path = path
        self.on_open = on_open
        self._db: sqlite3.Connection | None = None
        #: Why the store could not be opened (``None`` once open).
        self.failure: StoreFailure | None = None
        with suppress(StoreFailure):  # reported by every call until it opens
            self._connection()

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly one `with` block.
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
            with self._tx(db):
                migrate(db, self.path)
        except BaseException:
            db.close()
            raise
        return db

    def _connection(self) -> sqlite3.Connection:
        """The open connection, opening it if an earlier attempt failed."""
        if self._db is not None:
            return self._db
        try:
            with self._failures():
                self._db = self._open()
        except StoreFailure as failure:
            self.failure = failure
            raise
        self.failure = None
        if self.on_open is not None:
            self.on_open()
        return self._db

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """Turn what SQLite or the OS says about the store into a ``StoreFailure``; bugs of ours stay as they are."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            failure = classify(exc, self.path)
            if failure is None:
                raise
            raise failure from exc

    def check(self) -> StoreFailure | None:
        """Why the store cannot be opened, if it cannot (trying again); ``None`` once it is open."""
        try:
            self._connection()
        except StoreFailure as failure:
            return failure
        return None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        with self._failures():
            yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        with self._failures(), self._tx(db):
            yield db

    @staticmethod
    @contextmanager
    def _tx(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (a full disk) may already have rolled back.
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    # -- threads ---------------------------------------------------------------------------------------

    def create_thread(self, thread_id: str, notebook_path: str, title: str) -> dict[str, Any]:
        now = time.time()
        with self._write() as db:
            self._insert_thread(db, thread_id, notebook_path, title, now)
        return {"thread_id": thread_id, "notebook_path": notebook_path, "title": title, "created": now, "updated": now}

    @staticmethod
    def _insert_thread(db: sqlite3.Connection, thread_id: str, notebook_path: str, title: str, now: float) -> None:
        db.execute(
            "INSERT INTO threads (thread_id, notebook_path, title, created, updated) VALUES (?, ?, ?, ?, ?)",
            (thread_id, notebook_path, title, now, now),
        )

    def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute("SELECT * FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
        return dict(row) if row else None

    def latest_thread(self, notebook_path: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute(
                "SELECT * FROM threads WHERE notebook_path = ? ORDER BY updated DESC, rowid DESC LIMIT 1",
                (notebook_path,),
            ).fetchone()
        return dict(row) if row else None

    def list_threads(self, notebook_path: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        with self._read() as db:
            if notebook_path is None:
                rows = db.execute("SELECT * FROM threads ORDER BY updated DESC LIMIT ?", (limit,)).fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM threads WHERE notebook_path = ? ORDER BY updated DESC LIMIT ?",
                    (notebook_path, limit),
                ).fetchall()
        return [dict(r) for r in rows]

    def thread_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """The thread's conversation as the model sees it next: every message recorded, in order, with the tool
        calls that a crash left unanswered answered (see ``history.repaired``)."""
        with self._read() as db:
            rows = db.execute("SELECT message FROM messages WHERE thread_id = ? ORDER BY idx", (thread_id,)).fetchall()
        return repaired([json.loads(r["message"]) for r in rows])

    @staticmethod
    def _add_messages(db: sqlite3.Connection, run_id: str, messages: Sequence[dict[str, Any]], seq: int | None) -> None:
        """Append messages to the run's thread; ``seq`` is the event they were recorded with."""
        (thread_id,) = db.execute("SELECT thread_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        (start,) = db.execute(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM messages WHERE thread_id = ?", (thread_id,)
        ).fetchone()
        db.executemany(
            "INSERT INTO messages (thread_id, idx, run_id, message, seq) VALUES (?, ?, ?, ?, ?)",
            [(thread_id, start + i, run_id, _dumps(m), seq) for i, m in enumerate(messages)],
        )

    # -- runs ------------------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        thread_id: str,
        kernel_id: str,
        notebook_path: str,
        prompt: str,
        model: str,
        created: float,
        *,
        new_thread_title: str | None = None,
    ) -> None:
        """Record a queued run; with ``new_thread_title``, its new thread too, in the same transaction."""
        with self._write() as db:
            if new_thread_title is not None:
                self._insert_thread(db, thread_id, notebook_path, new_thread_title, created)
            db.execute(
                "INSERT INTO runs "
                "(run_id, thread_id, kernel_id, notebook_path, prompt, model, status, created) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                (run_id, thread_id, kernel_id, notebook_path, prompt, model, created),
            )
            db.execute("UPDATE threads SET updated = ? WHERE thread_id = ?", (created, thread_id))

    def put_step(self, run_id: str, step: dict[str, Any]) -> None:
        with self._write() as db:
            self._put_step(db, run_id, step)

    @staticmethod
    def _put_step(db: sqlite3.Connection, run_id: str, step: dict[str, Any], *, keep: bool = False) -> None:
        """Record a step: a ``completed`` event, or a step record. An event without ``outputs`` left them to its live
        events, so the row does too (``outputs_in_events``): each output is stored once. ``keep``: a step already
        recorded stays as it is (its ``completed`` event said the last word)."""
        in_events = "outputs" not in step
        db.execute(
            f"INSERT OR {'IGNORE' if keep else 'REPLACE'} INTO steps "
            "(run_id, step, code, outputs, status, execution_count, elapsed, message, files, files_truncated, "
            "outputs_in_events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                int(step["step"]),
                _text(step.get("code", "")),
                "[]" if in_events else _dumps(step["outputs"]),
                step.get("status", ""),
                step.get("execution_count"),
                step.get("elapsed"),
                _text(step.get("message", "")),
                _dumps(step.get("files", [])),
                int(bool(step.get("files_truncated", False))),
                int(in_events),
            ),
        )

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        reason: str,
        answer: str,
        usage: dict[str, Any],
        steps: Sequence[dict[str, Any]],
        messages: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Record a run's outcome and its steps, with any of its events and chat messages not stored yet (a run the
        store failed mid-way), all or nothing. (Events and messages are otherwise stored as they come.)"""
        now = time.time()
        with self._write() as db:
            row = db.execute("SELECT thread_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(run_id)
            thread_id = row["thread_id"]
            for event in events:
                self._append_event(db, event)
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, answer = ?, usage = ?, ended = ? WHERE run_id = ?",
                (status, _text(reason), _text(answer), _dumps(usage), now, run_id),
            )
            for step in steps:
                self._put_step(db, run_id, step, keep=True)
            if messages:
                self._add_messages(db, run_id, messages, None)
            db.execute("UPDATE threads SET updated = ? WHERE thread_id = ?", (now, thread_id))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self._read() as db:
            row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        run = self._run_dict(row)
        run["steps"] = self.steps(run_id)
        return run

    def runs_of_thread(self, thread_id: str, *, with_steps: bool = False) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE thread_id = ? ORDER BY created, rowid", (thread_id,)
            ).fetchall()
        runs = [self._run_dict(r) for r in rows]
        if with_steps:
            for run in runs:
                run["steps"] = self.steps(run["run_id"])
        return runs

    def runs_created_since(
        self, since: float, notebook_path: str | None = None, kernel_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Runs created at or after ``since`` (without steps), oldest first, optionally of one notebook or kernel."""
        query = f"SELECT {_RUN_COLUMNS} FROM runs WHERE created >= ?"
        params: list[Any] = [since]
        if notebook_path is not None:
            query += " AND notebook_path = ?"
            params.append(notebook_path)
        if kernel_id is not None:
            query += " AND kernel_id = ?"
            params.append(kernel_id)
        with self._read() as db:
            rows = db.execute(query + " ORDER BY created, rowid LIMIT 500", params).fetchall()
        return [self._run_dict(r) for r in rows]

    def thread_usage(self, thread_id: str) -> dict[str, Any]:
        """What a thread's runs have spent: tokens, estimated cost, executed steps, seconds (``budgets``)."""
        from .budgets import thread_totals

        with self._read() as db:
            runs = db.execute("SELECT usage, created, ended FROM runs WHERE thread_id = ?", (thread_id,)).fetchall()
            (steps,) = db.execute(
                "SELECT COUNT(*) FROM steps AS s JOIN runs AS r USING (run_id) WHERE r.thread_id = ? "
                "AND s.status != 'skipped' AND (s.execution_count IS NOT NULL OR s.status != 'error')",
                (thread_id,),
            ).fetchone()
        now = time.time()
        seconds = sum(max(0.0, (r["ended"] or now) - r["created"]) for r in runs)
        return thread_totals([json.loads(r["usage"]) for r in runs], seconds, steps)

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT step, code, outputs, status, execution_count, elapsed, message, files, files_truncated, "
                "outputs_in_events FROM steps WHERE run_id = ? ORDER BY step",
                (run_id,),
            ).fetchall()
            folded = self._folded_outputs(db, run_id) if any(r["outputs_in_events"] for r in rows) else {}
        steps = []
        for r in rows:
            step = dict(r)
            in_events = step.pop("outputs_in_events")
            step["outputs"] = folded.get(r["step"], []) if in_events else json.loads(r["outputs"])
            step["files"] = json.loads(r["files"])
            step["files_truncated"] = bool(r["files_truncated"])
            steps.append(step)
        return steps

    @staticmethod
    def _folded_outputs(db: sqlite3.Connection, run_id: str) -> dict[int, list[dict[str, Any]]]:
        """Each step's outputs as its events fold (``RunState``, as every client folds them live)."""
        rows = db.execute(
            "SELECT event FROM events WHERE run_id = ? AND json_extract(event, '$.type') = 'step' "
            "AND json_extract(event, '$.stage') IN ('in_progress', 'completed') ORDER BY seq",
            (run_id,),
        ).fetchall()
        state = RunState.of([json.loads(r["event"]) for r in rows])
        return {n: list(step.outputs.items) for n, step in state.steps.items()}

    @staticmethod
    def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
        run = dict(row)
        run["usage"] = json.loads(run["usage"])
        run["files"] = json.loads(run["files"])
        run["annotations"] = json.loads(run["annotations"])
        return run

    # -- events ----------------------------------------------------------------------------------------

    def append_event(self, event: dict[str, Any], messages: Sequence[dict[str, Any]] = ()) -> None:
        """Record one event, with the chat messages the run appended since its previous event, in one transaction:
        a step's result message and its ``completed`` event, the answer and ``run_ended``, are stored together."""
        with self._write() as db:
            self._append_event(db, event)
            if messages:
                self._add_messages(db, event["run_id"], messages, int(event["seq"]))

    @staticmethod
    def _append_event(db: sqlite3.Connection, event: dict[str, Any]) -> None:
        run_id, seq, kind = event["run_id"], int(event["seq"]), event.get("type")
        db.execute("INSERT INTO events (run_id, seq, event) VALUES (?, ?, ?)", (run_id, seq, _dumps(event)))
        db.execute("UPDATE runs SET last_seq = MAX(last_seq, ?) WHERE run_id = ?", (seq, run_id))
        if kind == "run_started":
            db.execute("UPDATE runs SET status = 'running' WHERE run_id = ? AND status = 'queued'", (run_id,))
            if event.get("files"):
                db.execute("UPDATE runs SET files = ? WHERE run_id = ?", (_dumps(event["files"]), run_id))
        elif kind == "approval_requested":
            # Paused for the user: a restart finds it active (and fails it, keeping its finished steps).
            db.execute("UPDATE runs SET status = 'waiting_for_approval' WHERE run_id = ?", (run_id,))
        elif kind == "approval_decided":
            db.execute(
                "UPDATE runs SET status = 'running' WHERE run_id = ? AND status = 'waiting_for_approval'", (run_id,)
            )
        elif kind == "usage":
            # Usage so far survives a crash, as the events do.
            db.execute("UPDATE runs SET usage = ? WHERE run_id = ?", (_dumps(event["usage"]), run_id))
        elif kind == "step" and event.get("stage") == "completed":
            Store._put_step(db, run_id, event)
        elif kind == "run_ended":
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, answer = ?, usage = ?, ended = ?, annotations = ? "
                "WHERE run_id = ?",
                (
                    event["status"],
                    _text(event["reason"]),
                    _text(event["answer"]),
                    _dumps(event["usage"]),
                    event.get("time"),
                    _dumps(event.get("annotations", [])),
                    run_id,
                ),
            )

    def events(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute(
                "SELECT event FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after)
            ).fetchall()
        return [json.loads(r["event"]) for r in rows]

    # -- recovery --------------------------------------------------------------------------------------

    def fail_interrupted_runs(self, reason: str, *, keep: Collection[str] = ()) -> list[str]:
        """Mark runs left queued or running by a previous process as failed (except those in ``keep``, this
        process's own), ending their event logs too.

        A client replaying such a run then sees a ``run_ended`` event instead of waiting forever.
        """
        now = time.time()
        with self._write() as db:
            rows = db.execute(
                f"SELECT run_id, last_seq, answer, usage FROM runs WHERE status IN {_ACTIVE!r}"
            ).fetchall()
            rows = [r for r in rows if r["run_id"] not in keep]
            for row in rows:
                (steps,) = db.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (row["run_id"],)).fetchone()
                seq = row["last_seq"] + 1
                # The engine that would have ended this run is gone with its process: the store says how it ended.
                event = run_ended(
                    row["run_id"],
                    seq,
                    status="failed",
                    reason=reason,
                    answer=row["answer"],
                    usage=json.loads(row["usage"]),
                    steps=steps,
                    at=now,
                )
                db.execute(
                    "INSERT INTO events (run_id, seq, event) VALUES (?, ?, ?)",
                    (row["run_id"], seq, _dumps(event)),
                )
                # A step the crash cut short has no recorded result: say so in the thread, so its history stays
                # valid for the next run.
                thread = db.execute("SELECT thread_id FROM runs WHERE run_id = ?", (row["run_id"],)).fetchone()
                recorded = db.execute(
                    "SELECT message FROM messages WHERE thread_id = ? ORDER BY idx", (thread["thread_id"],)
                ).fetchall()
                missing = unanswered_tail([json.loads(r["message"]) for r in recorded])
                if missing:
                    self._add_messages(db, row["run_id"], missing, seq)
                db.execute(
                    "UPDATE runs SET status = 'failed', reason = ?, ended = ?, last_seq = ? WHERE run_id = ?",
                    (reason, now, seq, row["run_id"]),
                )
        return [r["run_id"] for r in rows]
