"""Assistants runs: each is an ordinary run of the run service on the thread's container, answering the messages
added since the thread's last run. Its status, steps and the assistant's messages are folded from its events
whenever they are read (``assistant_view.py``), so polling, streaming and listing all agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from ..validation import ServiceError, StartRequest
from .assistant_view import Event, RunView
from .assistants import AssistantService, check_sampling, check_tools
from .containers import ContainerService
from .errors import OpenAIError, bad_request, not_found, unsupported
from .files import FileService, new_id
from .objects import ObjectStore, paginate
from .params import check_metadata
from .responses import OutputTokenLimit, service_error, settle, start_settling
from .translate import ResponseBuilder, step_images

RUN = "thread.run"
#: A generated file or image copied to /v1/files, by (run, container file or step image).
OUTPUT = "run.output"
RUN_FIELDS = {
    "assistant_id",
    "model",
    "instructions",
    "additional_instructions",
    "additional_messages",
    "tools",
    "metadata",
    "temperature",
    "top_p",
    "max_completion_tokens",
    "stream",
    "tool_choice",
    "parallel_tool_calls",
    "truncation_strategy",
    "response_format",
    "max_prompt_tokens",
}


class AssistantRuns:
    def __init__(
        self,
        *,
        objects: ObjectStore,
        files: FileService,
        containers: ContainerService,
        runs: Any,
        assistants: AssistantService,
    ) -> None:
        self.objects = objects
        self.files = files
        self.containers = containers
        self.runs = runs
        self.assistants = assistants
        self._limits: dict[str, OutputTokenLimit] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- create ------------------------------------------------------------------------------------------

    def _check(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object with an 'assistant_id'.")
        for key in body:
            if key not in RUN_FIELDS:
                raise unsupported(key)
        if not isinstance(body.get("assistant_id"), str):
            raise bad_request("'assistant_id' is required.", "assistant_id")
        check_sampling(body)
        if body.get("tools") is not None:
            check_tools(body["tools"])
        for key in ("max_completion_tokens", "max_prompt_tokens"):
            value = body.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 16):
                raise bad_request(f"'{key}' must be an integer of at least 16.", key)
        if body.get("max_prompt_tokens") is not None:
            raise unsupported("max_prompt_tokens", "Use the server's budgets (c.CodeInterpreter.max_run_tokens).")
        strategy = body.get("truncation_strategy")
        if strategy is not None and (not isinstance(strategy, dict) or strategy.get("type") != "auto"):
            raise unsupported("truncation_strategy", 'Only {"type": "auto"} is.')
        choice = body.get("tool_choice")
        if choice not in (None, "auto", "required") and not (
            isinstance(choice, dict) and choice.get("type") == "code_interpreter"
        ):
            raise unsupported("tool_choice")
        return body

    async def create(self, thread_id: str, body: Any) -> dict[str, Any]:
        body = self._check(body)
        thread = self.assistants.thread(thread_id)
        assistant = self.assistants.assistant(body["assistant_id"], "assistant_id")
        metadata = check_metadata(body.get("metadata"))
        if self.busy(thread_id):
            raise bad_request(f"Thread {thread_id} already has an active run.", code="run_active")
        extra = body.get("additional_messages") or []
        if not isinstance(extra, list):
            raise bad_request("'additional_messages' must be a list.", "additional_messages")
        for fields in [self.assistants.check_message(m, f"additional_messages[{n}]") for n, m in enumerate(extra)]:
            self.assistants.put_message(thread_id, fields)
        pending = self.assistants.pending(thread_id)
        container = await self._container(thread, assistant)
        prompt, context, files = self._input(pending, container)
        instructions = body.get("instructions", assistant.get("instructions")) or ""
        if body.get("additional_instructions"):
            instructions = f"{instructions}\n\n{body['additional_instructions']}".strip()
        overrides: dict[str, Any] = {}
        base = self.runs.config.extra_system_prompt
        if instructions:
            overrides["extra_system_prompt"] = "\n\n".join(p for p in (base, instructions) if p)
        temperature = body.get("temperature", assistant.get("temperature"))
        if temperature is not None:
            overrides["temperature"] = float(temperature)
        limit = OutputTokenLimit(body["max_completion_tokens"]) if body.get("max_completion_tokens") else None
        try:
            started = self.runs.start(
                StartRequest(
                    kernel_id=container["kernel_id"],
                    prompt=f"{context}\n\nNow: {prompt}" if context else prompt,
                    notebook_path=container["notebook_path"],
                    thread_id=thread["_service_thread"] or "new",
                    files=files,
                    overrides=overrides,
                    hooks=[limit] if limit else [],
                )
            )
        except ServiceError as err:
            raise service_error(err) from None
        thread["_service_thread"] = started["thread_id"]
        self.assistants.save_thread(thread)
        record = {
            "id": new_id("run_"),
            "thread_id": thread_id,
            "assistant_id": assistant["id"],
            "created_at": time.time(),
            "_service_run": started["run_id"],
            "_container_id": container["id"],
            "_incomplete": False,
            "_fields": {
                "model": self.runs.config.model,
                "instructions": instructions,
                "metadata": metadata,
                "tools": check_tools(body["tools"]) if body.get("tools") is not None else assistant["tools"],
                "temperature": temperature,
                "top_p": None,
                "max_completion_tokens": body.get("max_completion_tokens"),
                "max_prompt_tokens": None,
            },
        }
        self.objects.put(RUN, record, parent=thread_id)
        self.assistants.take(pending, record["id"])
        if limit is not None:
            self._limits[record["id"]] = limit
        start_settling(self._tasks, self._after(record))
        return record

    async def create_thread_and_run(self, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object with an 'assistant_id'.")
        thread_body = body.get("thread") or {}
        self._check({k: v for k, v in body.items() if k not in ("thread", "tool_resources")})
        self.assistants.assistant(body.get("assistant_id", ""), "assistant_id")
        if body.get("tool_resources") is not None:
            thread_body = {**thread_body, "tool_resources": body["tool_resources"]}
        thread = self.assistants.create_thread(thread_body)
        run_body = {k: v for k, v in body.items() if k not in ("thread", "tool_resources")}
        return thread, await self.create(thread["id"], run_body)

    def busy(self, thread_id: str) -> bool:
        """Whether a run of the thread is queued or in progress."""
        return any(self.view(r).status() in ("queued", "in_progress") for r in self.objects.all(RUN, thread_id))

    async def _container(self, thread: dict[str, Any], assistant: dict[str, Any]) -> dict[str, Any]:
        """The thread's container: made at its first run (with the assistant's and the thread's files), made
        again if it expired (the model is told its variables are gone)."""
        if thread["_container_id"]:
            container = self.containers.get(thread["_container_id"])
            if container["status"] == "running":
                return container
        file_ids = [
            *((assistant.get("tool_resources") or {}).get("code_interpreter") or {}).get("file_ids", []),
            *((thread.get("tool_resources") or {}).get("code_interpreter") or {}).get("file_ids", []),
        ]
        container = await self.containers.create(
            {"name": f"thread-{thread['id'][7:15]}", "file_ids": list(dict.fromkeys(file_ids))}
        )
        thread["_container_id"] = container["id"]
        self.assistants.save_thread(thread)
        return container

    def _input(self, pending: list[dict[str, Any]], container: dict[str, Any]) -> tuple[str, str, list[str]]:
        """What the run answers: the new user messages' text, earlier assistant messages as context, and the
        attached files copied into the container (paths relative to the server's root, to be profiled)."""
        texts: list[str] = []
        context: list[str] = []
        files: list[str] = []
        for message in pending:
            text = "\n".join(p["text"]["value"] for p in message["content"] if p["type"] == "text")
            (texts if message["role"] == "user" else context).append(
                text if message["role"] == "user" else f"assistant: {text}"
            )
            ids = [a["file_id"] for a in message.get("attachments") or []]
            ids += [p["image_file"]["file_id"] for p in message["content"] if p["type"] == "image_file"]
            for file_id in ids:
                added = self.containers.add_file(container["id"], file_id)
                files.append(f"{container['folder']}/{added['path'].removeprefix('/mnt/data/')}")
        prompt = "\n\n".join(t for t in texts if t) or "Continue."
        return prompt, "\n\n".join(context), files

    async def _after(self, record: dict[str, Any]) -> None:
        await settle(self.runs, self.containers, record["_container_id"], record["_service_run"])
        limit = self._limits.pop(record["id"], None)
        if limit is not None and limit.reached:
            record["_incomplete"] = True
            self.objects.put(RUN, record, parent=record["thread_id"])
        with contextlib.suppress(Exception):  # generated files and images become /v1/files now, not when read
            self.view(record).messages()

    # -- reading -----------------------------------------------------------------------------------------

    def record(self, thread_id: str, run_id: str) -> dict[str, Any]:
        self.assistants.thread(thread_id)
        record = self.objects.get(RUN, run_id)
        if record is None:
            raise not_found("run", run_id)
        if record["thread_id"] != thread_id:
            raise OpenAIError(404, f"Run '{run_id}' is not a run of thread '{thread_id}'.", code="not_found")
        return record

    def _builder(self, record: dict[str, Any]) -> ResponseBuilder:
        container = self.containers.get(record["_container_id"])
        service_run = record["_service_run"]

        def image(step: int, n: int) -> str:
            return self._output(f"{service_run}:image:{step}:{n}", lambda: self._image_file(service_run, step, n))

        def cite(path: str) -> dict[str, Any] | None:
            try:
                return self.containers.file_for(container, path)
            except OSError:
                return None

        base = {"id": f"resp_{record['id'].removeprefix('run_')}", "created_at": int(record["created_at"])}
        return ResponseBuilder(base, container_id=container["id"], include_outputs=True, image_url=image, cite=cite)

    def _new_view(self, record: dict[str, Any]) -> RunView:
        """A view of the run with nothing folded in yet; generated files become /v1/files when first shown."""
        container_id = record["_container_id"]
        service_run = record["_service_run"]

        def output_file(container_file_id: str) -> str:
            return self._output(
                f"{service_run}:file:{container_file_id}", lambda: self._copy_file(container_id, container_file_id)
            )

        return RunView(record, self._builder(record), output_file)

    def view(self, record: dict[str, Any]) -> RunView:
        """The run as it stands, folded from its events."""
        view = self._new_view(record)
        for event in self.runs.run_events(record["_service_run"]):
            view.feed(event)
        self._settle_status(record, view)
        return view

    def _settle_status(self, record: dict[str, Any], view: RunView) -> None:
        limit = self._limits.get(record["id"])
        if view.builder.status != "in_progress" and (record.get("_incomplete") or (limit and limit.reached)):
            view.builder.incomplete("max_output_tokens")

    def _output(self, key: str, make: Any) -> str:
        """The /v1/files id of a generated output, copied there the first time it is asked for."""
        known = self.objects.get(OUTPUT, key)
        if known is not None:
            return str(known["file_id"])
        file_id = str(make()["id"])
        self.objects.put(OUTPUT, {"id": key, "file_id": file_id})
        return file_id

    def _image_file(self, service_run: str, step: int, n: int) -> dict[str, Any]:
        images = step_images(self.runs.run_events(service_run), step)
        mime, data = images[n]
        ext = {"image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}.get(mime, ".png")
        return self.files.create(f"step-{step}-image-{n + 1}{ext}", data, "assistants_output", check_size=False)

    def _copy_file(self, container_id: str, container_file_id: str) -> dict[str, Any]:
        path = self.containers.file_path(container_id, container_file_id)
        with open(path, "rb") as f:
            return self.files.create(os.path.basename(path), f.read(), "assistants_output", check_size=False)

    def retrieve(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return self.view(self.record(thread_id, run_id)).run()

    def list_runs(self, thread_id: str, **page: Any) -> dict[str, Any]:
        self.assistants.thread(thread_id)
        runs = [self.view(r).run() for r in self.objects.all(RUN, thread_id)]
        return paginate(runs, **page)

    def update(self, thread_id: str, run_id: str, body: Any) -> dict[str, Any]:
        record = self.record(thread_id, run_id)
        if not isinstance(body, dict) or set(body) - {"metadata"}:
            raise bad_request("Only 'metadata' of a run can be changed.", "metadata")
        record["_fields"]["metadata"] = check_metadata(body.get("metadata"))
        self.objects.put(RUN, record, parent=thread_id)
        return self.view(record).run()

    async def cancel(self, thread_id: str, run_id: str) -> dict[str, Any]:
        record = self.record(thread_id, run_id)
        await self.runs.cancel(record["_service_run"])
        return self.view(record).run()

    def steps(self, thread_id: str, run_id: str, **page: Any) -> dict[str, Any]:
        return paginate(self.view(self.record(thread_id, run_id)).steps(), **page)

    def step(self, thread_id: str, run_id: str, step_id: str) -> dict[str, Any]:
        for step in self.view(self.record(thread_id, run_id)).steps():
            if step["id"] == step_id:
                return step
        raise not_found("run step", step_id)

    def replies(self, thread_id: str) -> list[dict[str, Any]]:
        """Every assistant message of the thread's runs."""
        return [m for r in self.objects.all(RUN, thread_id) for m in self.view(r).messages()]

    def notebook_path(self, thread_id: str) -> str:
        thread = self.assistants.thread(thread_id)
        if not thread["_container_id"]:
            raise OpenAIError(404, f"Thread '{thread_id}' has no notebook yet: it has not run.", code="not_found")
        return os.path.join(self.containers.root_dir, self.containers.get(thread["_container_id"])["notebook_path"])

    async def stream(self, record: dict[str, Any]) -> AsyncIterator[Event]:
        view = self._new_view(record)
        for event in view.opening():
            yield event
        async for run_event in self.runs.follow(record["_service_run"]):
            for event in view.feed(run_event):
                yield event
        self._settle_status(record, view)
        for event in view.closing():
            yield event
