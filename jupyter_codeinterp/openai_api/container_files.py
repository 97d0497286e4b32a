"""A container's files: what is in its folder, by id, as hosted (``/mnt/data/...`` paths, ``source`` user or
assistant). The folder is the truth: files code wrote are registered when the folder is looked at, files that are
gone are dropped, so a listing is right however the files got there (code, JupyterLab, a terminal)."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from .errors import OpenAIError, not_found
from .files import FileService, new_id, safe_filename, too_large, write_atomically
from .objects import ObjectStore

FILE_KIND = "container.file"
MOUNT = "/mnt/data"


class ContainerFiles:
    """Mixed into ``ContainerService``."""

    objects: ObjectStore
    files: FileService
    root_dir: str

    def get(self, container_id: str, param: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def usable(self, container_id: str, param: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def touch(self, container: dict[str, Any]) -> None:
        raise NotImplementedError

    def folder_of(self, container: dict[str, Any]) -> str:
        return os.path.join(self.root_dir, container["folder"])

    def add_upload(self, container_id: str, filename: str, data: bytes) -> dict[str, Any]:
        container = self.usable(container_id)
        if self.files.max_bytes and len(data) > self.files.max_bytes:
            raise too_large(len(data), self.files.max_bytes)
        name = self._free_name(container, safe_filename(filename))
        write_atomically(self.folder_of(container), name, data)
        self.touch(container)
        return self._register(container, name, "user")

    def add_file(self, container_id: str, file_id: str) -> dict[str, Any]:
        container = self.usable(container_id)
        record = self._copy_in(container, self.files.get(file_id, "file_id"))
        self.touch(container)
        return record

    def _copy_in(self, container: dict[str, Any], upload: dict[str, Any]) -> dict[str, Any]:
        name = self._free_name(container, upload["filename"])
        folder = self.folder_of(container)
        tmp = os.path.join(folder, f".copy-{upload['id']}")
        shutil.copyfile(self.files.content_path(upload["id"]), tmp)
        os.replace(tmp, os.path.join(folder, name))
        return self._register(container, name, "user")

    def _free_name(self, container: dict[str, Any], name: str) -> str:
        """``name``, or ``name (2).ext`` and so on when the container already has a file by that name."""
        folder = self.folder_of(container)
        stem, ext = os.path.splitext(name)
        candidate, n = name, 1
        while os.path.exists(os.path.join(folder, candidate)):
            n += 1
            candidate = f"{stem} ({n}){ext}"
        return candidate

    def _register(self, container: dict[str, Any], relpath: str, source: str) -> dict[str, Any]:
        path = os.path.join(self.folder_of(container), relpath)
        record = {
            "id": new_id("cfile_"),
            "object": "container.file",
            "container_id": container["id"],
            "bytes": os.path.getsize(path),
            "created_at": int(time.time()),
            "path": f"{MOUNT}/{relpath}",
            "source": source,
        }
        return self.objects.put(FILE_KIND, record, parent=container["id"])

    def sync_files(self, container: dict[str, Any]) -> list[dict[str, Any]]:
        """The container's files as they are on disk: a file code wrote is registered (``source: assistant``), one
        that is gone is dropped, sizes are brought up to date. The notebook record is not a container file."""
        folder = self.folder_of(container)
        known = {r["path"]: r for r in self.objects.all(FILE_KIND, container["id"])}
        notebook = os.path.basename(container["notebook_path"])
        seen: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, filename), folder)
                if filename.startswith(".") or rel == notebook:
                    continue
                path = f"{MOUNT}/{rel}"
                seen.add(path)
                record = known.get(path)
                if record is None:
                    known[path] = self._register(container, rel, "assistant")
                elif record["bytes"] != (size := os.path.getsize(os.path.join(folder, rel))):
                    record["bytes"] = size
                    self.objects.put(FILE_KIND, record, parent=container["id"])
        for path, record in list(known.items()):
            if path not in seen:
                self.objects.delete(FILE_KIND, record["id"])
                del known[path]
        return list(known.values())

    def file_for(self, container: dict[str, Any], relpath: str) -> dict[str, Any] | None:
        """The container file at ``relpath`` (relative to its folder), registered if code just wrote it."""
        path = relpath if relpath.startswith(MOUNT) else f"{MOUNT}/{relpath.removeprefix('./')}"
        for record in self.sync_files(container):
            if record["path"] == path:
                return record
        return None

    def list_files(self, container_id: str, **page: Any) -> dict[str, Any]:
        container = self.usable(container_id)
        self.sync_files(container)
        return self.objects.page(FILE_KIND, parent=container_id, **page)

    def get_file(self, container_id: str, file_id: str) -> dict[str, Any]:
        container = self.usable(container_id)
        self.sync_files(container)
        record = self.objects.get(FILE_KIND, file_id)
        if record is None or record["container_id"] != container_id:
            raise (
                not_found("file", file_id)
                if record is None
                else OpenAIError(
                    404, f"File '{file_id}' is not a file of container '{container_id}'.", code="not_found"
                )
            )
        return record

    def file_path(self, container_id: str, file_id: str) -> str:
        record = self.get_file(container_id, file_id)
        container = self.get(container_id)
        return os.path.join(self.folder_of(container), record["path"][len(MOUNT) + 1 :])

    def delete_file(self, container_id: str, file_id: str) -> dict[str, Any]:
        path = self.file_path(container_id, file_id)
        if os.path.exists(path):
            os.unlink(path)
        self.objects.delete(FILE_KIND, file_id)
        return {"id": file_id, "object": "container.file.deleted", "deleted": True}
