"""The store's SQLite schema, versioned, and the steps that upgrade a store written by an earlier release.

A store is upgraded in the transaction that opens it, so an upgrade that fails leaves the file as it was. A store
written by a newer release is refused with a clear message: its schema may mean things this release cannot keep.
``tests/fixtures/store/`` holds files written by earlier releases; ``tests/test_store_migrations.py`` opens them.
"""

from __future__ import annotations

import sqlite3

from .store_errors import StoreError

#: The schema this release writes. Bump it with a new entry in ``MIGRATIONS``.
SCHEMA_VERSION = 4

#: Schema 1 (0.1), created as it was; a new store then takes every migration, exactly as an old one does.

_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY,
    notebook_path TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS threads_by_notebook ON threads (notebook_path, updated);
CREATE TABLE IF NOT EXISTS messages (
    thread_id TEXT NOT NULL REFERENCES threads (thread_id),
    idx INTEGER NOT NULL,
    run_id TEXT,
    message TEXT NOT NULL,
    PRIMARY KEY (thread_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL REFERENCES threads (thread_id),
    kernel_id TEXT NOT NULL,
    notebook_path TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    usage TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    ended REAL,
    last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_thread ON runs (thread_id, created);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE INDEX IF NOT EXISTS runs_by_notebook ON runs (notebook_path, created);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    step INTEGER NOT NULL,
    code TEXT NOT NULL DEFAULT '',
    outputs TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    execution_count INTEGER,
    elapsed REAL,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""


#: version -> the statements that upgrade a store from the version before it.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # Messages are recorded as they are appended, each with the seq of the event that announced it.
    2: ("ALTER TABLE messages ADD COLUMN seq INTEGER",),
    # Files in and out: what was attached to a run, what each step wrote, which of them the answer names.
    3: (
        "ALTER TABLE runs ADD COLUMN files TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE runs ADD COLUMN annotations TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE steps ADD COLUMN files TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE steps ADD COLUMN files_truncated INTEGER NOT NULL DEFAULT 0",
    ),
    # Outputs kept once: a step whose outputs are those its live events fold to is stored without them (1) and
    # read back by folding its events (``Store.steps``).
    4: ("ALTER TABLE steps ADD COLUMN outputs_in_events INTEGER NOT NULL DEFAULT 0",),
}


def schema_version(db: sqlite3.Connection) -> int | None:
    """The version the store says it has, or None for an empty file."""
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def migrate(db: sqlite3.Connection, path: str) -> int:
    """Create or upgrade the schema inside the caller's transaction; return the version it had (0 when new)."""
    found = schema_version(db)
    if found is not None and found > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer jupyter-codeinterp (schema {found}, this release reads up to "
            f"{SCHEMA_VERSION}); upgrade jupyter-codeinterp, or point CodeInterpreterApp.db_path elsewhere."
        )
    version = found if found is not None else 1
    if found is None:
        for statement in _SCHEMA_1.split(";"):
            if statement.strip():
                db.execute(statement)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target]:
            db.execute(statement)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    return found or 0
