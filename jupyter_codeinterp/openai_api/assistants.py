"""The Assistants API v2 (retired by OpenAI in August 2026), served locally: assistants, threads and the messages
users add to them. Runs and run steps are ``assistant_runs.py``; an assistant's replies are folded from its runs'
events, never stored twice.

Each thread gets a container (a kernel, a folder, a notebook record) at its first run, so a thread is one kernel
whose variables last from run to run, like the hosted tool's.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import OpenAIError, bad_request, not_found, unsupported
from .files import FileService, new_id
from .objects import ObjectStore, paginate
from .params import check_metadata, check_temperature

ASSISTANT = "assistant"
THREAD = "thread"
MESSAGE = "thread.message"
ASSISTANT_FIELDS = {
    "model",
    "name",
    "description",
    "instructions",
    "tools",
    "tool_resources",
    "metadata",
    "temperature",
    "top_p",
    "response_format",
    "reasoning_effort",
}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its local bookkeeping (keys starting with ``_``)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def check_tools(tools: Any, param: str = "tools") -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise bad_request(f"'{param}' must be a list of tools.", param)
    for n, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "code_interpreter":
            raise bad_request(
                f"Unsupported tool type {kind!r} ({param}[{n}]): this server serves only 'code_interpreter'.",
                f"{param}[{n}].type",
                "unsupported_tool",
            )
    return [{"type": "code_interpreter"} for _ in tools]


def check_sampling(body: dict[str, Any]) -> None:
    check_temperature(body)
    if body.get("top_p") not in (None, 1, 1.0):
        raise unsupported("top_p", "Use temperature.")
    fmt = body.get("response_format")
    if fmt not in (None, "auto") and not (isinstance(fmt, dict) and fmt.get("type") == "text"):
        raise unsupported("response_format", "Answers are plain text here.")
    if body.get("reasoning_effort") is not None:
        raise unsupported("reasoning_effort")


class AssistantService:
    def __init__(self, objects: ObjectStore, files: FileService, model: Any) -> None:
        self.objects = objects
        self.files = files
        #: The model that really answers (the server's), reported in place of the one asked for.
        self.model = model

    # -- assistants --------------------------------------------------------------------------------------

    def create_assistant(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object.")
        record = {
            "id": new_id("asst_"),
            "object": "assistant",
            "created_at": int(time.time()),
            "name": None,
            "description": None,
            "instructions": None,
            "tools": [],
            "tool_resources": {},
            "metadata": {},
            "temperature": None,
            "top_p": None,
            "response_format": "auto",
        }
        self._apply(record, body, creating=True)
        return public(self.objects.put(ASSISTANT, record))

    def _apply(self, record: dict[str, Any], body: dict[str, Any], *, creating: bool) -> None:
        for key in body:
            if key not in ASSISTANT_FIELDS:
                raise unsupported(key)
        if creating and not isinstance(body.get("model"), str):
            raise bad_request("'model' is required (any name: the server answers with its own model).", "model")
        check_sampling(body)
        for key in ("name", "description", "instructions"):
            if key in body:
                if body[key] is not None and not isinstance(body[key], str):
                    raise bad_request(f"'{key}' must be a string.", key)
                record[key] = body[key]
        if "tools" in body:
            record["tools"] = check_tools(body["tools"])
        if "tool_resources" in body:
            record["tool_resources"] = self.tool_resources(body["tool_resources"])
        if "metadata" in body:
            record["metadata"] = check_metadata(body["metadata"])
        for key in ("temperature", "top_p", "response_format"):
            if key in body and body[key] is not None:
                record[key] = body[key]
        record["model"] = self.model()

    def tool_resources(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise bad_request("'tool_resources' must be an object.", "tool_resources")
        for key in value:
            if key != "code_interpreter":
                raise unsupported(f"tool_resources.{key}", "Only code_interpreter is served here.")
        ids = (value.get("code_interpreter") or {}).get("file_ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request(
                "'tool_resources.code_interpreter.file_ids' must list file ids.",
                "tool_resources.code_interpreter.file_ids",
            )
        for file_id in ids:
            self.files.get(file_id, "tool_resources.code_interpreter.file_ids")
        return {"code_interpreter": {"file_ids": list(ids)}}

    def assistant(self, assistant_id: str, param: str | None = None) -> dict[str, Any]:
        record = self.objects.get(ASSISTANT, assistant_id)
        if record is None:
            raise not_found("assistant", assistant_id, param)
        return record

    def update_assistant(self, assistant_id: str, body: Any) -> dict[str, Any]:
        record = self.assistant(assistant_id)
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object.")
        self._apply(record, body, creating=False)
        return public(self.objects.put(ASSISTANT, record))

    def delete_assistant(self, assistant_id: str) -> dict[str, Any]:
        self.assistant(assistant_id)
        self.objects.delete(ASSISTANT, assistant_id)
        return {"id": assistant_id, "object": "assistant.deleted", "deleted": True}

    def list_assistants(self, **page: Any) -> dict[str, Any]:
        listed = self.objects.page(ASSISTANT, **page)
        listed["data"] = [public(a) for a in listed["data"]]
        return listed

    # -- threads -----------------------------------------------------------------------------------------

    def create_thread(self, body: Any) -> dict[str, Any]:
        body = body if body is not None else {}
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object.")
        for key in body:
            if key not in ("messages", "metadata", "tool_resources"):
                raise unsupported(key)
        messages = body.get("messages") or []
        if not isinstance(messages, list):
            raise bad_request("'messages' must be a list.", "messages")
        record: dict[str, Any] = {
            "id": new_id("thread_"),
            "object": "thread",
            "created_at": int(time.time()),
            "metadata": check_metadata(body.get("metadata")),
            "tool_resources": self.tool_resources(body.get("tool_resources")),
            "_container_id": None,
            "_service_thread": None,
        }
        checked = [self.check_message(m, f"messages[{n}]") for n, m in enumerate(messages)]
        self.objects.put(THREAD, record)
        for fields in checked:
            self.put_message(record["id"], fields)
        return public(record)

    def thread(self, thread_id: str, param: str | None = None) -> dict[str, Any]:
        record = self.objects.get(THREAD, thread_id)
        if record is None:
            raise not_found("thread", thread_id, param)
        return record

    def save_thread(self, record: dict[str, Any]) -> None:
        self.objects.put(THREAD, record)

    def update_thread(self, thread_id: str, body: Any) -> dict[str, Any]:
        record = self.thread(thread_id)
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object.")
        for key in body:
            if key not in ("metadata", "tool_resources"):
                raise unsupported(key)
        if "metadata" in body:
            record["metadata"] = check_metadata(body["metadata"])
        if "tool_resources" in body:
            record["tool_resources"] = self.tool_resources(body["tool_resources"])
        self.objects.put(THREAD, record)
        return public(record)

    def delete_thread(self, thread_id: str) -> dict[str, Any]:
        self.thread(thread_id)
        for message in self.objects.all(MESSAGE, thread_id):
            self.objects.delete(MESSAGE, message["id"])
        self.objects.delete(THREAD, thread_id)
        return {"id": thread_id, "object": "thread.deleted", "deleted": True}

    # -- messages users add ------------------------------------------------------------------------------

    def add_message(self, thread_id: str, body: Any, *, busy: bool) -> dict[str, Any]:
        self.thread(thread_id)
        if busy:
            raise bad_request(f"Can't add messages to {thread_id} while a run is active on it.", code="run_active")
        return public(self.put_message(thread_id, self.check_message(body, "")))

    def check_message(self, body: Any, where: str) -> dict[str, Any]:
        prefix = f"{where}." if where else ""
        if not isinstance(body, dict):
            raise bad_request(f"{where or 'The body'} must be an object with 'role' and 'content'.", where or None)
        for key in body:
            if key not in ("role", "content", "attachments", "metadata"):
                raise unsupported(f"{prefix}{key}")
        role = body.get("role")
        if role not in ("user", "assistant"):
            raise bad_request("'role' must be 'user' or 'assistant'.", f"{prefix}role")
        content = self._content(body.get("content"), f"{prefix}content")
        attachments = body.get("attachments") or []
        if not isinstance(attachments, list):
            raise bad_request("'attachments' must be a list.", f"{prefix}attachments")
        for n, attachment in enumerate(attachments):
            param = f"{prefix}attachments[{n}]"
            file_id = attachment.get("file_id") if isinstance(attachment, dict) else None
            if not isinstance(file_id, str):
                raise bad_request("Each attachment needs a 'file_id'.", f"{param}.file_id")
            self.files.get(file_id, f"{param}.file_id")
            check_tools(attachment.get("tools") or [{"type": "code_interpreter"}], f"{param}.tools")
        return {
            "role": role,
            "content": content,
            "attachments": attachments,
            "metadata": check_metadata(body.get("metadata")),
        }

    def _content(self, value: Any, param: str) -> list[dict[str, Any]]:
        if isinstance(value, str):
            if not value.strip():
                raise bad_request("'content' must not be empty.", param)
            return [{"type": "text", "text": {"value": value, "annotations": []}}]
        if not isinstance(value, list) or not value:
            raise bad_request("'content' must be a string or a non-empty list of content parts.", param)
        parts = []
        for n, part in enumerate(value):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                parts.append({"type": "text", "text": {"value": part["text"], "annotations": []}})
            elif kind == "image_file" and isinstance((part.get("image_file") or {}).get("file_id"), str):
                self.files.get(part["image_file"]["file_id"], f"{param}[{n}].image_file.file_id")
                parts.append({"type": "image_file", "image_file": {"file_id": part["image_file"]["file_id"]}})
            elif kind == "image_url":
                raise unsupported(f"{param}[{n}]", "This server fetches nothing: upload the image and use image_file.")
            else:
                raise bad_request(f"Unsupported content part {kind!r} ({param}[{n}]).", f"{param}[{n}].type")
        return parts

    def put_message(self, thread_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        record = {
            "id": new_id("msg_"),
            "object": "thread.message",
            "created_at": now,
            "thread_id": thread_id,
            "assistant_id": None,
            "run_id": None,
            "status": "completed",
            "completed_at": now,
            "incomplete_at": None,
            "incomplete_details": None,
            **fields,
            "_order": time.time(),
        }
        return self.objects.put(MESSAGE, record, parent=thread_id)

    def pending(self, thread_id: str) -> list[dict[str, Any]]:
        """The messages added since the thread's last run: what its next run answers."""
        return [m for m in self.objects.all(MESSAGE, thread_id) if not m.get("_taken")]

    def take(self, messages: list[dict[str, Any]], run_id: str) -> None:
        for message in messages:
            message["_taken"] = run_id
            self.objects.put(MESSAGE, message, parent=message["thread_id"])

    def added_messages(self, thread_id: str) -> list[dict[str, Any]]:
        return self.objects.all(MESSAGE, thread_id)

    def list_messages(
        self, replies: list[dict[str, Any]], thread_id: str, run_id: str | None = None, **page: Any
    ) -> dict[str, Any]:
        """The thread's messages, the added ones and the assistant's replies (``replies``), oldest first."""
        items = sorted([*self.added_messages(thread_id), *replies], key=lambda m: m["_order"])
        if run_id is not None:
            items = [m for m in items if m.get("run_id") == run_id]
        listed = paginate(items, **page)
        listed["data"] = [public(m) for m in listed["data"]]
        return listed

    def message(self, replies: list[dict[str, Any]], thread_id: str, message_id: str) -> dict[str, Any]:
        for message in [*self.added_messages(thread_id), *replies]:
            if message["id"] == message_id:
                return public(message)
        if self.objects.get(MESSAGE, message_id) is not None:
            raise OpenAIError(404, f"Message '{message_id}' is not in thread '{thread_id}'.", code="not_found")
        raise not_found("message", message_id)
