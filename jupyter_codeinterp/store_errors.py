"""Why the store cannot be used right now, in words a user can act on: its disk is full, it is read-only, or it
cannot be opened. SQLite reports a full disk the same way whether the file system ran out of space (ENOSPC) or
SQLite's own size limit was hit (``SQLITE_FULL``); the service answers 507 for it and 503 for the rest.
"""

from __future__ import annotations

import errno
import os
import sqlite3


class StoreError(RuntimeError):
    """The store file cannot be used (e.g. written by a newer version)."""


class StoreFailure(StoreError):
    """The store cannot be written (or read) now. ``cause`` is ``disk_full``, ``read_only`` or ``unavailable``."""

    def __init__(self, cause: str, path: str, detail: str) -> None:
        self.cause = cause
        self.path = path
        self.detail = detail
        if cause == "disk_full":
            message = (
                f"The disk holding the run store is full ({detail}): {path}. Free some space; "
                "everything recorded before is kept."
            )
        elif cause == "read_only":
            message = (
                f"The run store is read-only ({detail}): {path}. Make it writable, or point "
                "CodeInterpreterApp.db_path at a writable place."
            )
        else:
            message = f"The run store cannot be used ({detail}): {path}."
        super().__init__(message)
        self.message = message


#: SQLite's primary result codes (extended ones share the prefix) that say the store, not our SQL, is at fault.
_SQLITE_CAUSES = {
    "SQLITE_FULL": "disk_full",
    "SQLITE_READONLY": "read_only",
    "SQLITE_CANTOPEN": "unavailable",
    "SQLITE_IOERR": "unavailable",
    "SQLITE_BUSY": "unavailable",
    "SQLITE_LOCKED": "unavailable",
    "SQLITE_CORRUPT": "unavailable",
    "SQLITE_NOTADB": "unavailable",
    "SQLITE_PERM": "unavailable",
    "SQLITE_PROTOCOL": "unavailable",
}
#: The same, by message, for Pythons before 3.11 (no ``sqlite_errorname``).
_SQLITE_MESSAGES = {
    "database or disk is full": "disk_full",
    "readonly database": "read_only",
    "unable to open database": "unavailable",
    "disk i/o error": "unavailable",
    "database is locked": "unavailable",
    "database table is locked": "unavailable",
    "malformed": "unavailable",
    "not a database": "unavailable",
}


def _read_only(path: str) -> bool:
    """Whether ``path`` (or the folder it would be made in) is on a read-only file system or not writable to us."""
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK))


def classify(exc: BaseException, path: str) -> StoreFailure | None:
    """The store failure ``exc`` reports, or ``None`` when it is a bug of ours (bad SQL, a constraint...)."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreFailure("disk_full", path, exc.strerror or str(exc))
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreFailure("read_only", path, exc.strerror or str(exc))
        return StoreFailure("unavailable", path, exc.strerror or str(exc))
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(
        exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.DataError)
    ):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    cause = next((c for prefix, c in _SQLITE_CAUSES.items() if name.startswith(prefix)), None)
    if cause is None and not name:
        text = str(exc).lower()
        cause = next((c for fragment, c in _SQLITE_MESSAGES.items() if fragment in text), None)
    if cause is None:
        return None
    if cause == "unavailable" and _read_only(path):
        # SQLite cannot open a WAL store it may not write (no -shm file can be made): say that, not "unable to open".
        return StoreFailure("read_only", path, f"{exc}: it may not be written")
    return StoreFailure(cause, path, str(exc))
