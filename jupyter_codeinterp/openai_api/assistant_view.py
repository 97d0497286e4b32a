"""One Assistants run as the Assistants API shows it: the run, its steps, the assistant's messages, and the
``thread.*`` stream events, all folded from the same ``ResponseBuilder`` the Responses API uses (one fold of the
run's events; this only renames and reshapes).

Generated files and images become ``/v1/files`` files (purpose ``assistants_output``) the first time they are
shown, once each: ``file_path`` annotations and ``image_file`` parts name them, as hosted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .translate import ResponseBuilder

#: A code_interpreter_call's status → its run step's.
STEP_STATUS = {
    "in_progress": "in_progress",
    "interpreting": "in_progress",
    "completed": "completed",
    "incomplete": "failed",
    "failed": "failed",
}

Event = tuple[str, dict[str, Any]]


class RunView:
    def __init__(self, record: dict[str, Any], builder: ResponseBuilder, output_file: Callable[[str], str]) -> None:
        self.record = record
        self.builder = builder
        #: A container file id → the ``/v1/files`` id of its copy.
        self.output_file = output_file
        self.started = False
        self._hex = record["id"].removeprefix("run_")

    def feed(self, event: dict[str, Any]) -> list[Event]:
        """The ``thread.*`` stream events one run event makes."""
        out: list[Event] = []
        if event.get("type") == "run_started":
            self.started = True
            out.append(("thread.run.in_progress", self.run()))
        for responses_event in self.builder.feed(event):
            out += self._convert(responses_event)
        return out

    def opening(self) -> list[Event]:
        run = self.run()
        return [("thread.run.created", run), ("thread.run.queued", run)]

    def closing(self) -> list[Event]:
        run = self.run()
        return [(f"thread.run.{run['status']}", run)]

    # -- objects -----------------------------------------------------------------------------------------

    def status(self) -> str:
        status = self.builder.status
        if status == "in_progress":
            return "in_progress" if self.started else "queued"
        return status

    def run(self) -> dict[str, Any]:
        record, builder = self.record, self.builder
        status = self.status()
        ended = int(builder.completed_at) if builder.completed_at else None
        usage = builder.usage
        return {
            "id": record["id"],
            "object": "thread.run",
            "created_at": int(record["created_at"]),
            "thread_id": record["thread_id"],
            "assistant_id": record["assistant_id"],
            "status": status,
            "started_at": int(record["created_at"]) if self.started else None,
            "completed_at": ended if status == "completed" else None,
            "cancelled_at": ended if status == "cancelled" else None,
            "failed_at": ended if status == "failed" else None,
            "expires_at": None,
            "last_error": {"code": "server_error", "message": builder.error["message"]} if builder.error else None,
            "incomplete_details": {"reason": "max_completion_tokens"} if status == "incomplete" else None,
            "required_action": None,
            "usage": None
            if usage is None or status in ("queued", "in_progress")
            else {
                "prompt_tokens": usage["input_tokens"],
                "completion_tokens": usage["output_tokens"],
                "total_tokens": usage["total_tokens"],
            },
            "truncation_strategy": {"type": "auto", "last_messages": None},
            "response_format": "auto",
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            **record["_fields"],
        }

    def _dated(self, index: int) -> int:
        return int(self.builder.times.get(index) or time.time())

    def _step_base(self, index: int, status: str) -> dict[str, Any]:
        ended = self._dated(index) if status != "in_progress" else None
        return {
            "id": f"step_{self._hex}_{index}",
            "object": "thread.run.step",
            "created_at": self._dated(index),
            "run_id": self.record["id"],
            "assistant_id": self.record["assistant_id"],
            "thread_id": self.record["thread_id"],
            "status": status,
            "last_error": None,
            "expired_at": None,
            "completed_at": ended if status == "completed" else None,
            "cancelled_at": ended if status == "cancelled" else None,
            "failed_at": ended if status == "failed" else None,
            "usage": None,
            "metadata": {},
        }

    def step(self, index: int) -> dict[str, Any]:
        item = self.builder.output[index]
        if item["type"] == "message":
            step = self._step_base(index, "completed" if item["status"] == "completed" else "in_progress")
            step["type"] = "message_creation"
            step["step_details"] = {"type": "message_creation", "message_creation": {"message_id": item["id"]}}
            return step
        status = STEP_STATUS.get(item["status"], "completed")
        if status == "failed" and self.builder.status == "cancelled":
            status = "cancelled"
        step = self._step_base(index, status)
        step["type"] = "tool_calls"
        call = {
            "id": f"call_{self._hex}_{index}",
            "type": "code_interpreter",
            "code_interpreter": {"input": item["code"], "outputs": self._outputs(item)},
        }
        step["step_details"] = {"type": "tool_calls", "tool_calls": [call]}
        return step

    def steps(self) -> list[dict[str, Any]]:
        return [self.step(i) for i in range(len(self.builder.output))]

    def _outputs(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        outputs = []
        for output in item.get("outputs") or []:
            if output["type"] == "logs":
                outputs.append({"type": "logs", "logs": output["logs"]})
            else:  # the builder's image reference is already a /v1/files id here
                outputs.append({"type": "image", "image": {"file_id": output["url"]}})
        return outputs

    def _images_before(self, index: int) -> list[str]:
        """The images of the calls between the previous message and the message at ``index``."""
        found: list[str] = []
        for item in self.builder.output[:index]:
            if item["type"] == "message":
                found = []
            else:
                found += [o["url"] for o in item.get("outputs") or [] if o["type"] == "image"]
        return found

    def message(self, index: int) -> dict[str, Any]:
        item = self.builder.output[index]
        part: dict[str, Any] = item["content"][0] if item["content"] else {"text": "", "annotations": []}
        text = part["text"]
        annotations = [
            {
                "type": "file_path",
                "text": text[a["start_index"] : a["end_index"]],
                "start_index": a["start_index"],
                "end_index": a["end_index"],
                "file_path": {"file_id": self.output_file(a["file_id"])},
            }
            for a in part["annotations"]
        ]
        content: list[dict[str, Any]] = [
            {"type": "image_file", "image_file": {"file_id": f, "detail": "auto"}} for f in self._images_before(index)
        ]
        content.append({"type": "text", "text": {"value": text, "annotations": annotations}})
        done = item["status"] == "completed"
        return {
            "id": item["id"],
            "object": "thread.message",
            "created_at": self._dated(index),
            "thread_id": self.record["thread_id"],
            "role": "assistant",
            "content": content,
            "assistant_id": self.record["assistant_id"],
            "run_id": self.record["id"],
            "attachments": [],
            "status": "completed" if done else "in_progress",
            "completed_at": self._dated(index) if done else None,
            "incomplete_at": None,
            "incomplete_details": None,
            "metadata": {},
            "_order": self.builder.times.get(index, 0.0),
        }

    def messages(self) -> list[dict[str, Any]]:
        return [self.message(i) for i, item in enumerate(self.builder.output) if item["type"] == "message"]

    # -- stream events -----------------------------------------------------------------------------------

    def _convert(self, event: dict[str, Any]) -> list[Event]:
        kind = event["type"]
        index = event.get("output_index", -1)
        if kind == "response.output_item.added":
            step = self.step(index)
            if event["item"]["type"] == "message":
                message = self.message(index)
                message.pop("_order")
                # No text part yet: the first text delta makes it, so the SDK's handler calls on_text_created.
                message["content"] = [c for c in message["content"] if c["type"] != "text"]
                return [
                    ("thread.run.step.created", step),
                    ("thread.run.step.in_progress", step),
                    ("thread.message.created", message),
                    ("thread.message.in_progress", message),
                ]
            # The call itself first, with no code yet: the SDK's handler calls on_tool_call_created for it and
            # hands every later piece of code to on_tool_call_delta, as with the hosted stream.
            opening = self._step_delta(index, {"input": "", "outputs": []})
            return [("thread.run.step.created", step), ("thread.run.step.in_progress", step), opening]
        if kind == "response.output_text.delta":
            text_index = len(self._images_before(index))
            delta = {"content": [{"index": text_index, "type": "text", "text": {"value": event["delta"]}}]}
            return [
                ("thread.message.delta", {"id": event["item_id"], "object": "thread.message.delta", "delta": delta})
            ]
        if kind == "response.code_interpreter_call_code.delta":
            return [self._step_delta(index, {"input": event["delta"]})]
        if kind == "response.output_item.done":
            step = self.step(index)
            if event["item"]["type"] == "message":
                message = self.message(index)
                message.pop("_order")
                return [("thread.message.completed", message), ("thread.run.step.completed", step)]
            outputs = [{"index": n, **o} for n, o in enumerate(self._outputs(self.builder.output[index]))]
            done = (
                f"thread.run.step.{step['status']}" if step["status"] != "in_progress" else "thread.run.step.completed"
            )
            return [self._step_delta(index, {"outputs": outputs}), (done, step)] if outputs else [(done, step)]
        return []

    def _step_delta(self, index: int, code_interpreter: dict[str, Any]) -> Event:
        call = {
            "index": 0,
            "id": f"call_{self._hex}_{index}",
            "type": "code_interpreter",
            "code_interpreter": code_interpreter,
        }
        return (
            "thread.run.step.delta",
            {
                "id": f"step_{self._hex}_{index}",
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}},
            },
        )
