"""``/v1/responses``: each response is an ordinary run of the run service on its container's kernel.

``previous_response_id`` continues the previous response's thread (the run service keeps the conversation) and
container (the kernel keeps its variables). A response's record keeps what the run does not know (its request
fields, its container); its output is folded from the run's events whenever it is read (``translate.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from ..hooks import RunHooks
from ..loopstate import LoopState, Stop
from ..notebook import read_notebook, write_notebook, write_run
from ..runstate import RunState
from ..validation import Conflict, NotFound, ServiceError, StartRequest
from .containers import ContainerService
from .errors import OpenAIError, bad_request, not_found
from .files import new_id
from .objects import ObjectStore
from .params import ResponseRequest
from .translate import ResponseBuilder, step_images

KIND = "response"
log = logging.getLogger(__name__)


class OutputTokenLimit(RunHooks):
    """``max_output_tokens``: no model call once the run's completion tokens have reached it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reached = False

    async def before_model_call(self, state: LoopState) -> None:
        if state.usage.get("completion_tokens", 0) >= self.limit:
            self.reached = True
            raise Stop("failed", f"Stopped at max_output_tokens ({self.limit}).")


def service_error(err: ServiceError) -> OpenAIError:
    if isinstance(err, Conflict):
        return OpenAIError(409, err.message, code="conflict")
    if isinstance(err, NotFound):
        return OpenAIError(404, err.message, code="not_found")
    return OpenAIError(err.status, err.message, type="server_error" if err.status >= 500 else "invalid_request_error")


async def settle(runs: Any, containers: ContainerService, container_id: str, run_id: str) -> None:
    """Once a facade run ends: its container was active until then, the files its code wrote are registered, and
    the container's notebook record holds the run's cells."""
    try:
        async for _ in runs.follow(run_id):
            pass
        container = containers.get(container_id)
        containers.touch(container)
        containers.sync_files(container)
        path = os.path.join(containers.root_dir, container["notebook_path"])
        nb = read_notebook(path)
        if write_run(nb, RunState.of(runs.run_events(run_id))):
            write_notebook(nb, path)
    except Exception:
        log.exception("codeinterp: settling run %s of container %s", run_id, container_id)


def start_settling(tasks: set[asyncio.Task[None]], coro: Any) -> None:
    task = asyncio.ensure_future(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


class ResponseService:
    def __init__(self, *, objects: ObjectStore, containers: ContainerService, runs: Any) -> None:
        self.objects = objects
        self.containers = containers
        self.runs = runs
        self._limits: dict[str, OutputTokenLimit] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- create ------------------------------------------------------------------------------------------

    async def create(self, req: ResponseRequest) -> dict[str, Any]:
        """Start the response's run; return its record (the run goes on in the run service)."""
        self.check_input_files(req)  # before a container is made for it
        previous = self._previous(req.previous_response_id) if req.previous_response_id else None
        container = await self._container(req, previous)
        files = [self._attach(container, a) for a in req.attachments]
        response_id = new_id("resp_")
        limit = OutputTokenLimit(req.max_output_tokens) if req.max_output_tokens else None
        overrides: dict[str, Any] = {}
        if req.instructions:
            base = self.runs.config.extra_system_prompt
            overrides["extra_system_prompt"] = "\n\n".join(p for p in (base, req.instructions) if p)
        if req.temperature is not None:
            overrides["temperature"] = req.temperature
        if req.max_tool_calls is not None:
            overrides["max_steps"] = req.max_tool_calls
        prompt = f"{req.context}\n\nNow: {req.prompt}" if req.context else req.prompt
        try:
            started = self.runs.start(
                StartRequest(
                    kernel_id=container["kernel_id"],
                    prompt=prompt,
                    notebook_path=container["notebook_path"],
                    thread_id=previous["thread_id"] if previous else "new",
                    files=files,
                    overrides=overrides,
                    hooks=[limit] if limit else [],
                )
            )
        except ServiceError as err:
            raise service_error(err) from None
        self.containers.touch(container)
        record = {
            "id": response_id,
            "created_at": time.time(),
            "run_id": started["run_id"],
            "thread_id": started["thread_id"],
            "container_id": container["id"],
            "include_outputs": req.include_outputs,
            "stored": req.store,
            "incomplete_reason": None,
            "fields": {
                "model": self.runs.config.model,
                "instructions": req.instructions,
                "metadata": req.metadata,
                "temperature": req.temperature,
                "max_output_tokens": req.max_output_tokens,
                "max_tool_calls": req.max_tool_calls,
                "previous_response_id": req.previous_response_id,
                "background": req.background,
                "store": req.store,
                "tools": [{"type": "code_interpreter", "container": container["id"]}],
                "tool_choice": req.echo.get("tool_choice", "auto"),
                "parallel_tool_calls": bool(req.echo.get("parallel_tool_calls", True)),
                "top_p": req.echo.get("top_p"),
                "truncation": req.echo.get("truncation", "disabled"),
                "user": req.echo.get("user"),
                "text": {"format": {"type": "text"}},
            },
        }
        self.objects.put(KIND, record)
        if limit is not None:
            self._limits[response_id] = limit
        start_settling(self._tasks, self._after(record))
        return record

    def _previous(self, response_id: str) -> dict[str, Any]:
        previous = self.objects.get(KIND, response_id)
        if previous is None:
            raise not_found("response", response_id, "previous_response_id")
        return previous

    async def _container(self, req: ResponseRequest, previous: dict[str, Any] | None) -> dict[str, Any]:
        if isinstance(req.container, str):
            return self.containers.usable(req.container, "tools[0].container")
        spec = req.container
        if previous is not None:
            earlier = self.containers.get(previous["container_id"])
            if earlier["status"] == "running":
                for file_id in spec.get("file_ids") or []:
                    self.containers.add_file(earlier["id"], file_id)
                return earlier
        body = {k: v for k, v in spec.items() if k != "type"}
        return await self.containers.create(
            {"name": time.strftime("auto-%Y%m%d-%H%M%S"), **body}, param_prefix="tools[0].container."
        )

    def _attach(self, container: dict[str, Any], attachment: Any) -> str:
        """Put an input file in the container; its path relative to the server's root, to be profiled."""
        if attachment.file_id:
            record = self.containers.add_file(container["id"], attachment.file_id)
        else:
            record = self.containers.add_upload(container["id"], attachment.filename, attachment.data)
        return f"{container['folder']}/{record['path'].removeprefix('/mnt/data/')}"

    async def _after(self, record: dict[str, Any]) -> None:
        """Once the run ends, a ``max_output_tokens`` stop is remembered as incomplete."""
        await settle(self.runs, self.containers, record["container_id"], record["run_id"])
        limit = self._limits.pop(record["id"], None)
        if limit is not None and limit.reached:
            record["incomplete_reason"] = "max_output_tokens"
            self.objects.put(KIND, record)

    # -- reading -----------------------------------------------------------------------------------------

    def record(self, response_id: str) -> dict[str, Any]:
        record = self.objects.get(KIND, response_id)
        if record is None or (not record.get("stored", True) and self._ended(record)):
            raise not_found("response", response_id)
        return record

    def _ended(self, record: dict[str, Any]) -> bool:
        return self.runs.get_run(record["run_id"])["status"] in ("completed", "failed", "cancelled")

    def builder(self, record: dict[str, Any], api_base: str) -> ResponseBuilder:
        container = self.containers.get(record["container_id"])
        base = {"id": record["id"], "created_at": int(record["created_at"]), **record["fields"]}

        def image_url(step: int, n: int) -> str:
            return f"{api_base}/responses/{record['id']}/images/{step}/{n}"

        def cite(path: str) -> dict[str, Any] | None:
            try:
                return self.containers.file_for(container, path)
            except OSError:
                return None

        return ResponseBuilder(
            base,
            container_id=container["id"],
            include_outputs=record["include_outputs"],
            image_url=image_url,
            cite=cite,
        )

    def _finish(self, record: dict[str, Any], builder: ResponseBuilder) -> None:
        limit = self._limits.get(record["id"])
        if record.get("incomplete_reason") or (limit is not None and limit.reached):
            builder.incomplete("max_output_tokens")

    def get(self, response_id: str, api_base: str) -> dict[str, Any]:
        """The response as it is now, folded from its run's events."""
        record = self.record(response_id)
        builder = self.builder(record, api_base)
        for event in self.runs.run_events(record["run_id"]):
            builder.feed(event)
        if builder.status != "in_progress":
            self._finish(record, builder)
        return builder.response()

    async def wait(self, record: dict[str, Any], api_base: str) -> dict[str, Any]:
        builder = self.builder(record, api_base)
        async for event in self.runs.follow(record["run_id"]):
            builder.feed(event)
        self._finish(record, builder)
        return builder.response()

    async def stream(self, record: dict[str, Any], api_base: str) -> AsyncIterator[dict[str, Any]]:
        """The Responses streaming events of the run, from ``response.created`` to its final one."""
        builder = self.builder(record, api_base)
        for event in builder.started():
            yield event
        async for run_event in self.runs.follow(record["run_id"]):
            for event in builder.feed(run_event):
                yield event
        self._finish(record, builder)
        for event in builder.finished():
            yield event

    async def cancel(self, response_id: str, api_base: str) -> dict[str, Any]:
        record = self.record(response_id)
        await self.runs.cancel(record["run_id"])
        return self.get(response_id, api_base)

    def delete(self, response_id: str) -> dict[str, Any]:
        record = self.record(response_id)
        self.objects.delete(KIND, record["id"])
        return {"id": response_id, "object": "response", "deleted": True}

    def image(self, response_id: str, step: int, n: int) -> tuple[str, bytes]:
        """The ``n``-th image of a call's outputs, as its MIME type and bytes (the ``image`` output's URL)."""
        record = self.record(response_id)
        images = step_images(self.runs.run_events(record["run_id"]), step)
        if not 0 <= n < len(images):
            raise OpenAIError(
                404, f"No image {n} in the outputs of step {step} of response '{response_id}'.", code="not_found"
            )
        return images[n]

    def check_input_files(self, req: ResponseRequest) -> None:
        for attachment in req.attachments:
            if attachment.file_id:
                self.containers.files.get(attachment.file_id, "input")
            elif (
                attachment.data is not None
                and self.containers.files.max_bytes
                and len(attachment.data) > self.containers.files.max_bytes
            ):
                raise bad_request(f"The inline file {attachment.filename!r} is over the size limit.", "input")
