"""``/v1/containers``: a container is a kernel plus a folder of its own (its ``/mnt/data``) and a notebook record.

It expires after its idle minutes (``expires_after``, default 20; at most ``idle_limit`` seconds when the server
sets one): its kernel is shut down and its status becomes ``expired``, as hosted, and using it again is a 400. Its
folder and notebook stay, so the conversation can still be opened and re-run in JupyterLab. A server restart
expires every container (their kernels went with the old process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from typing import Any

from ..notebook import new_notebook, write_notebook
from ..sandbox_kernel import MEMORY_ENV
from .container_files import FILE_KIND, ContainerFiles
from .errors import OpenAIError, bad_request, not_found, unsupported
from .files import FileService, new_id
from .objects import ObjectStore

KIND = "container"
MEMORY_LIMITS = {"1g": 1 << 30, "4g": 4 << 30, "16g": 16 << 30, "64g": 64 << 30}
DEFAULT_MINUTES = 20
log = logging.getLogger(__name__)


def slug(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40]
    return cleaned or "container"


def expired_error(container_id: str) -> OpenAIError:
    return bad_request(
        f"Container '{container_id}' is expired: it was idle past its expires_after and its kernel was shut down. "
        "Create a new container (its folder and notebook are kept on the server).",
        code="container_expired",
    )


class ContainerService(ContainerFiles):
    """Containers and their files; ``kernel_manager`` is the Jupyter server's, so a container's kernel is one of
    the server's kernels (listed by ``/api/kernels``, seen by JupyterLab)."""

    def __init__(
        self,
        *,
        objects: ObjectStore,
        files: FileService,
        kernel_manager: Any,
        root_dir: str,
        folder: str,
        kernel_name: str = "",
        idle_limit: float = 0.0,
        sweep_interval: float = 30.0,
        busy: Callable[[str], bool] = lambda kernel_id: False,
        session_manager: Any = None,
    ) -> None:
        self.objects = objects
        self.files = files
        self.kernel_manager = kernel_manager
        self.root_dir = root_dir
        #: Where container folders go, relative to the server's root (so JupyterLab can open them).
        self.folder = folder.strip("/")
        self.kernel_name = kernel_name
        self.idle_limit = idle_limit
        self.sweep_interval = sweep_interval
        #: Whether a kernel has a run on it now (a busy container does not expire).
        self.busy = busy
        #: The server's sessions: the container's notebook is bound to its kernel, so opening the notebook in
        #: JupyterLab joins the container's kernel (its variables, its files) instead of starting another.
        self.session_manager = session_manager
        self._sweeper: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Containers a previous server process left running lost their kernels with it: they are expired."""
        for container in self.objects.all(KIND):
            if container["status"] == "running" and container.get("kernel_id") not in self.kernel_manager:
                self._mark_expired(container)

    async def create(self, body: dict[str, Any], *, param_prefix: str = "") -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("'name' is required: a name for the container.", f"{param_prefix}name")
        minutes = self._minutes(body.get("expires_after"), param_prefix)
        memory_limit = body.get("memory_limit")
        if memory_limit is not None and memory_limit not in MEMORY_LIMITS:
            raise bad_request(
                f"'memory_limit' must be one of {', '.join(MEMORY_LIMITS)}; got {memory_limit!r}.",
                f"{param_prefix}memory_limit",
            )
        network = self._network(body.get("network_policy"), param_prefix)
        for key in body:
            if key not in ("name", "expires_after", "memory_limit", "network_policy", "file_ids", "type"):
                raise unsupported(f"{param_prefix}{key}")
        file_ids = body.get("file_ids") or []
        if not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids):
            raise bad_request("'file_ids' must be a list of file ids.", f"{param_prefix}file_ids")
        uploads = [self.files.get(f, f"{param_prefix}file_ids") for f in file_ids]  # all checked before anything
        kernel_name, sandboxed = self._kernel_for(network == "disabled")

        container_id = new_id("cntr_")
        folder_rel = f"{self.folder}/{slug(name)}-{container_id[5:13]}" if self.folder else container_id
        folder_abs = os.path.join(self.root_dir, folder_rel)
        os.makedirs(folder_abs, exist_ok=True)
        notebook_rel = f"{folder_rel}/{slug(name)}.ipynb"
        # Created now, so that the runs' writes to it are changes to a notebook, which file tracking leaves alone.
        write_notebook(new_notebook(kernel_name), os.path.join(self.root_dir, notebook_rel))
        env = None
        if memory_limit and sandboxed:
            env = {**os.environ, MEMORY_ENV: str(MEMORY_LIMITS[memory_limit])}
        try:
            kwargs: dict[str, Any] = {"path": folder_rel, "kernel_name": kernel_name}
            if env is not None:
                kwargs["env"] = env
            kernel_id = await self.kernel_manager.start_kernel(**kwargs)
        except Exception as exc:
            shutil.rmtree(folder_abs, ignore_errors=True)
            raise OpenAIError(
                500,
                f"The container's kernel ({kernel_name}) could not start: {exc}",
                type="server_error",
                code="kernel_start_failed",
            ) from None
        await self._bind_notebook(notebook_rel, kernel_id)
        now = int(time.time())
        container = {
            "id": container_id,
            "object": "container",
            "name": name,
            "created_at": now,
            "last_active_at": now,
            "status": "running",
            "expires_after": {"anchor": "last_active_at", "minutes": minutes},
            "memory_limit": memory_limit or "1g",
            "network_policy": {"type": network} if network else None,
            # Local additions: where it lives, and what is really enforced.
            "kernel_id": kernel_id,
            "kernel_name": kernel_name,
            "folder": folder_rel,
            "notebook_path": notebook_rel,
            "sandboxed": sandboxed,
            "memory_limit_enforced": bool(memory_limit and sandboxed),
        }
        self.objects.put(KIND, container)
        for upload in uploads:
            self._copy_in(container, upload)
        self._start_sweeping()
        return container

    async def _bind_notebook(self, notebook_rel: str, kernel_id: str) -> None:
        """A session for the notebook record on the container's kernel: JupyterLab then opens it on that kernel."""
        if self.session_manager is None:
            return
        try:
            await self.session_manager.create_session(
                path=notebook_rel, name=os.path.basename(notebook_rel), type="notebook", kernel_id=kernel_id
            )
        except Exception:
            log.warning("codeinterp: no session for %s; it opens on a kernel of its own", notebook_rel, exc_info=True)

    def _minutes(self, expires_after: Any, prefix: str) -> int:
        if expires_after is None:
            return DEFAULT_MINUTES
        param = f"{prefix}expires_after"
        if not isinstance(expires_after, dict):
            raise bad_request('\'expires_after\' must be an object: {"anchor": "last_active_at", "minutes": N}.', param)
        if expires_after.get("anchor") != "last_active_at":
            raise bad_request("'expires_after.anchor' must be 'last_active_at'.", f"{param}.anchor")
        minutes = expires_after.get("minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 1440:
            raise bad_request("'expires_after.minutes' must be an integer from 1 to 1440.", f"{param}.minutes")
        return minutes

    def _network(self, policy: Any, prefix: str) -> str | None:
        if policy is None:
            return None
        kind = policy.get("type") if isinstance(policy, dict) else None
        if kind == "disabled":
            return "disabled"
        if kind == "allowlist":
            raise unsupported(f"{prefix}network_policy", 'Only {"type": "disabled"} (the sandboxed kernel) is.')
        raise bad_request("'network_policy.type' must be 'disabled' or 'allowlist'.", f"{prefix}network_policy")

    def _kernel_for(self, no_network: bool) -> tuple[str, bool]:
        """The kernelspec a new container gets, and whether it is the sandboxed one."""
        from ..sandbox import DEFAULT_NAME

        sandbox = self._has_spec(DEFAULT_NAME)
        if no_network:
            if not sandbox:
                raise bad_request(
                    'network_policy {"type": "disabled"} needs the sandboxed kernel: run '
                    "`jupyter codeinterp install-sandbox-kernel` on the server.",
                    "network_policy",
                )
            return DEFAULT_NAME, True
        name = self.kernel_name or (DEFAULT_NAME if sandbox else "python3")
        return name, name == DEFAULT_NAME

    def _has_spec(self, name: str) -> bool:
        try:
            self.kernel_manager.kernel_spec_manager.get_kernel_spec(name)
        except Exception:
            return False
        return True

    def get(self, container_id: str, param: str | None = None) -> dict[str, Any]:
        container = self.objects.get(KIND, container_id)
        if container is None:
            raise not_found("container", container_id, param)
        if container["status"] == "running" and container["kernel_id"] not in self.kernel_manager:
            container = self._mark_expired(container)  # its kernel was shut down from JupyterLab, or died
        return container

    def usable(self, container_id: str, param: str | None = None) -> dict[str, Any]:
        """The container, running: a 400 if it has expired."""
        container = self.get(container_id, param)
        if container["status"] != "running":
            raise expired_error(container_id)
        return container

    def touch(self, container: dict[str, Any]) -> None:
        container["last_active_at"] = int(time.time())
        self.objects.put(KIND, container)

    def page(self, **page: Any) -> dict[str, Any]:
        listed = self.objects.page(KIND, **page)
        listed["data"] = [self.get(c["id"]) for c in listed["data"]]
        return listed

    async def delete(self, container_id: str) -> dict[str, Any]:
        container = self.get(container_id)
        await self._shutdown(container)
        for record in self.objects.all(FILE_KIND, container_id):
            self.objects.delete(FILE_KIND, record["id"])
        self.objects.delete(KIND, container_id)
        shutil.rmtree(os.path.join(self.root_dir, container["folder"]), ignore_errors=True)
        return {"id": container_id, "object": "container.deleted", "deleted": True}

    async def expire_idle(self) -> None:
        """Expire the running containers idle past their time (checked on a timer)."""
        now = time.time()
        for container in self.objects.all(KIND):
            if container["status"] != "running" or self.busy(container["kernel_id"]):
                continue
            idle = container["expires_after"]["minutes"] * 60.0
            if self.idle_limit:
                idle = min(idle, self.idle_limit)
            if now - container["last_active_at"] >= idle:
                log.info("codeinterp: container %s expired after %.0f s idle", container["id"], idle)
                await self._shutdown(container)
                self._mark_expired(container)

    def _mark_expired(self, container: dict[str, Any]) -> dict[str, Any]:
        container["status"] = "expired"
        return self.objects.put(KIND, container)

    async def _shutdown(self, container: dict[str, Any]) -> None:
        kernel_id = container.get("kernel_id")
        if kernel_id and kernel_id in self.kernel_manager:
            try:
                await self.kernel_manager.shutdown_kernel(kernel_id, now=True)
            except Exception:
                log.warning("codeinterp: container %s: kernel shutdown failed", container["id"], exc_info=True)

    def _start_sweeping(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        while any(c["status"] == "running" for c in self.objects.all(KIND)):
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.expire_idle()
            except Exception:
                log.exception("codeinterp: the container sweep failed")

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
