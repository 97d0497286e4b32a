"""``/v1/files``: uploaded files, kept under the server's data folder until deleted, each at most ``max_bytes``."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from typing import Any

from .errors import OpenAIError, bad_request, not_found
from .objects import ObjectStore

PURPOSES = (
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
)
KIND = "file"


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def safe_filename(name: str, param: str = "file") -> str:
    """The file's base name, refused if it is empty, hidden or not a plain name once its folders are dropped."""
    base = os.path.basename(name.replace("\\", "/")).strip()
    if not base or base in (".", "..") or base.startswith(".") or "\x00" in base:
        raise bad_request(f"The file name {name!r} cannot be used: give a plain, visible file name.", param)
    return base


def too_large(size: int, limit: int, what: str = "The file") -> OpenAIError:
    return OpenAIError(
        413,
        f"{what} has {size:,} bytes; the limit is {limit:,} (c.CodeInterpreter.max_file_bytes).",
        param="file",
        code="file_too_large",
    )


def write_atomically(folder: str, name: str, data: bytes) -> str:
    """``folder/name`` holding ``data``, written under a temporary name first: a failed write leaves nothing."""
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        path = os.path.join(folder, name)
        os.replace(tmp, path)
        return path
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class FileService:
    def __init__(self, objects: ObjectStore, folder: str, max_bytes: int) -> None:
        self.objects = objects
        self.folder = folder
        self.max_bytes = max_bytes

    def create(self, filename: str, data: bytes, purpose: str | None, *, check_size: bool = True) -> dict[str, Any]:
        if not purpose:
            raise bad_request("'purpose' is required, e.g. 'assistants' or 'user_data'.", "purpose")
        if purpose not in PURPOSES:
            raise bad_request(f"'purpose' must be one of {', '.join(PURPOSES)}; got {purpose!r}.", "purpose")
        name = safe_filename(filename)
        if check_size and self.max_bytes and len(data) > self.max_bytes:  # outputs the server made are kept
            raise too_large(len(data), self.max_bytes)
        file_id = new_id("file-")
        write_atomically(self.folder, file_id, data)
        record = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        return self.objects.put(KIND, record)

    def get(self, file_id: str, param: str | None = None) -> dict[str, Any]:
        record = self.objects.get(KIND, file_id)
        if record is None:
            raise not_found("file", file_id, param)
        return record

    def content_path(self, file_id: str, param: str | None = None) -> str:
        self.get(file_id, param)
        path = os.path.join(self.folder, file_id)
        if not os.path.exists(path):
            raise OpenAIError(
                404, f"The content of file '{file_id}' is gone from the server's data folder.", code="not_found"
            )
        return path

    def read(self, file_id: str, param: str | None = None) -> tuple[dict[str, Any], bytes]:
        record = self.get(file_id, param)
        with open(self.content_path(file_id, param), "rb") as f:
            return record, f.read()

    def page(self, purpose: str | None, **page: Any) -> dict[str, Any]:
        where = (lambda o: o["purpose"] == purpose) if purpose else None
        return self.objects.page(KIND, where=where, **page)

    def delete(self, file_id: str) -> dict[str, Any]:
        self.get(file_id)
        path = os.path.join(self.folder, file_id)
        if os.path.exists(path):
            os.unlink(path)
        self.objects.delete(KIND, file_id)
        return {"id": file_id, "object": "file", "deleted": True}
