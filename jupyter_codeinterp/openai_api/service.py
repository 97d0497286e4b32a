"""The facade's services, built once by the extension over the run service and the server's kernels."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

from .assistant_runs import AssistantRuns
from .assistants import AssistantService
from .containers import ContainerService
from .errors import OpenAIError
from .files import FileService
from .objects import ObjectStore
from .responses import ResponseService


class Facade:
    def __init__(
        self,
        *,
        runs: Any,
        kernel_manager: Any,
        root_dir: str,
        data_dir: str,
        containers_dir: str,
        container_kernel: str,
        container_idle_limit: float,
        max_prompt_chars: int,
        session_manager: Any = None,
    ) -> None:
        self.max_prompt_chars = max_prompt_chars
        self.objects = ObjectStore(os.path.join(data_dir, "objects.sqlite"))
        self.files = FileService(self.objects, os.path.join(data_dir, "files"), runs.config.max_file_bytes)
        sweep = min(30.0, container_idle_limit / 4) if container_idle_limit else 30.0
        self.containers = ContainerService(
            objects=self.objects,
            files=self.files,
            kernel_manager=kernel_manager,
            root_dir=root_dir,
            folder=containers_dir,
            kernel_name=container_kernel,
            idle_limit=container_idle_limit,
            sweep_interval=max(sweep, 0.2),
            busy=runs.kernel_busy,
            session_manager=session_manager,
        )
        self.responses = ResponseService(objects=self.objects, containers=self.containers, runs=runs)
        self.assistants = AssistantService(self.objects, self.files, model=lambda: runs.config.model)
        self.assistant_runs = AssistantRuns(
            objects=self.objects, files=self.files, containers=self.containers, runs=runs, assistants=self.assistants
        )
        self.containers.recover()

    async def delete_thread(self, thread_id: str) -> dict[str, Any]:
        """Forget the thread and its messages, and delete its container (kernel and folder)."""
        container_id = self.assistants.thread(thread_id)["_container_id"]
        if container_id:
            with contextlib.suppress(OpenAIError):  # already deleted through /v1/containers
                await self.containers.delete(container_id)
        return self.assistants.delete_thread(thread_id)

    def stop(self) -> None:
        self.containers.stop()
        self.objects.close()


class LazyFacade:
    """The facade, made at its first use: a data folder that cannot be written (read-only, full) does not stop the
    server or the rest of the extension; every /codeinterp/v1 route answers 503 saying why until it can be opened."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._facade: Facade | None = None

    def get(self) -> Facade:
        if self._facade is None:
            try:
                self._facade = Facade(**self._kwargs)
            except (OSError, sqlite3.Error) as exc:
                raise OpenAIError(
                    503,
                    f"The OpenAI-compatible API cannot open its data folder {self._kwargs['data_dir']}: {exc}. "
                    "Make it writable, or point c.CodeInterpreterApp.openai_data_dir elsewhere.",
                    type="server_error",
                    code="store_unavailable",
                ) from None
        return self._facade

    def stop(self) -> None:
        if self._facade is not None:
            self._facade.stop()
