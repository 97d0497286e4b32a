"""Files attached to a prompt: checked before anything runs (``POST /codeinterp/runs`` ``files``, the CLI's
``--file``), so that a bad path is a clear refusal naming it and never a model call.

A file must be inside the root (no ``..``, no absolute path, no symlink pointing out), exist, be a regular file and
be within the size limit (512 MB by default, as hosted).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
MAX_FILES = 20


class AttachmentError(ValueError):
    """A file that cannot be attached; ``missing`` tells a file that is not there from one that is refused."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def check_name(name: str) -> None:
    """Refuse a path that is empty, absolute, climbs out (``..``) or holds characters no file name should."""
    if not name or not name.strip():
        raise AttachmentError("an attached file's path is empty")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise AttachmentError(f"{name!r} is an absolute path: give it relative to the Jupyter root")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise AttachmentError(f"{name!r} leaves the Jupyter root ('..')")
    if any(ord(c) < 32 for c in name) or any(p.strip() != p or p in ("", ".") for p in parts if p != parts[-1]):
        raise AttachmentError(f"{name!r} is not a valid file name")


def resolve(root: str, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """The real path of attached file ``name`` (relative to ``root``), checked; AttachmentError says why not."""
    check_name(name)
    base = Path(root).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise AttachmentError(f"{name!r} points outside the Jupyter root (a symlink)")
    if not path.exists():
        raise AttachmentError(f"{name!r} does not exist", missing=True)
    if not path.is_file():
        raise AttachmentError(f"{name!r} is not a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise AttachmentError(f"{name!r} is {size:,} bytes; the limit is {max_bytes:,} (max_file_bytes)")
    return path


def relative_to_folder(root: str, name: str, folder: str) -> str:
    """``name`` (relative to ``root``) as the kernel working in ``folder`` (relative to ``root``) opens it."""
    return os.path.relpath(Path(root, name), Path(root, folder)).replace(os.sep, "/")


def copy_into(source: str, folder: str, *, overwrite: bool, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Copy ``source`` into ``folder`` (the CLI's ``--file``), atomically: nothing half-written is ever left.
    Returns the file's name in the folder; refuses to replace a different file unless ``overwrite``."""
    src = Path(source)
    if not src.is_file():
        raise AttachmentError(f"{source}: no such file", missing=True)
    if src.stat().st_size > max_bytes:
        raise AttachmentError(f"{source} is {src.stat().st_size:,} bytes; the limit is {max_bytes:,}")
    target = Path(folder) / src.name
    if target.exists() and target.resolve() == src.resolve():
        return src.name  # already in the folder
    if target.exists() and not overwrite:
        raise AttachmentError(f"{target} already exists: pass --overwrite to replace it")
    fd, part = tempfile.mkstemp(dir=folder, prefix=f".{src.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return src.name
