"""The facade's own records (files, containers, container files, responses) in one small SQLite file.

Each object is a JSON document under its kind and id, written as it changes (one transaction per change), so a
server that stops loses none of them. Listing pages like OpenAI's lists: ``after`` an id, ``limit``, ``order``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from typing import Any

from .errors import bad_request

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (kind, parent, created, id);
"""

MAX_LIMIT = 100


class ObjectStore:
    """JSON documents by (kind, id), optionally under a parent (a container's files)."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def put(self, kind: str, obj: dict[str, Any], parent: str = "") -> dict[str, Any]:
        with self._lock:
            self._db.execute(
                "INSERT INTO objects (kind, id, parent, created, data) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
                (kind, obj["id"], parent, time.time(), json.dumps(obj)),  # order of making, finer than created_at
            )
        return obj

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM objects WHERE kind = ? AND id = ?", (kind, object_id)).fetchone()
        return json.loads(row[0]) if row else None

    def parent_of(self, kind: str, object_id: str) -> str | None:
        row = self._db.execute("SELECT parent FROM objects WHERE kind = ? AND id = ?", (kind, object_id)).fetchone()
        return str(row[0]) if row else None

    def delete(self, kind: str, object_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, object_id))

    def all(self, kind: str, parent: str | None = None) -> list[dict[str, Any]]:
        if parent is None:
            rows = self._db.execute("SELECT data FROM objects WHERE kind = ? ORDER BY created, id", (kind,))
        else:
            rows = self._db.execute(
                "SELECT data FROM objects WHERE kind = ? AND parent = ? ORDER BY created, id", (kind, parent)
            )
        return [json.loads(r[0]) for r in rows]

    def page(
        self,
        kind: str,
        *,
        parent: str | None = None,
        after: str | None = None,
        limit: int = 20,
        order: str = "desc",
        where: Any = None,
    ) -> dict[str, Any]:
        """One page of a list, in OpenAI's list shape (``data``, ``first_id``, ``last_id``, ``has_more``)."""
        items = [o for o in self.all(kind, parent) if where is None or where(o)]
        return paginate(items, after=after, limit=limit, order=order)


def paginate(
    items: list[dict[str, Any]], *, after: str | None = None, limit: int = 20, order: str = "desc"
) -> dict[str, Any]:
    """One page of ``items`` (oldest first), in OpenAI's list shape (``data``, ``first_id``, ``last_id``,
    ``has_more``)."""
    if order not in ("asc", "desc"):
        raise bad_request(f"'order' must be 'asc' or 'desc', got {order!r}.", "order")
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"'limit' must be between 1 and {MAX_LIMIT}, got {limit}.", "limit")
    items = list(reversed(items)) if order == "desc" else list(items)
    if after is not None:
        ids = [o["id"] for o in items]
        if after not in ids:
            raise bad_request(f"'after' names no object of this list: {after!r}.", "after")
        items = items[ids.index(after) + 1 :]
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }


def parse_page_args(get: Any) -> dict[str, Any]:
    """``after``, ``limit`` and ``order`` from a query (``get(name)`` gives its value or None)."""
    args: dict[str, Any] = {"after": get("after"), "order": get("order") or "desc"}
    limit = get("limit")
    if limit is not None:
        try:
            args["limit"] = int(limit)
        except ValueError:
            raise bad_request(f"'limit' must be an integer, got {limit!r}.", "limit") from None
    return args
