"""Run events → the Responses API: output items (``message``, ``code_interpreter_call``), the streaming events the
SDK's ``responses.stream`` accepts, and the ``Response`` object. One fold, used live (streaming) and after the fact
(``GET /v1/responses/{id}`` rebuilds the same items, with the same ids, from the stored events).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from ..outputs import IMAGE_MIMES, OutputList, error_text, strip_ansi

#: A run step's status → the code_interpreter_call's.
CALL_STATUS = {
    "ok": "completed",
    "error": "completed",
    "timeout": "incomplete",
    "kernel_restarted": "incomplete",
    "cancelled": "incomplete",
    "skipped": "incomplete",
}

Cite = Callable[[str], "dict[str, Any] | None"]


def call_outputs(outputs: list[dict[str, Any]], image_url: Callable[[int], str]) -> list[dict[str, Any]]:
    """nbformat outputs → ``logs`` and ``image`` outputs, in order; consecutive text is one ``logs``."""
    result: list[dict[str, Any]] = []
    images = 0

    def log(text: str) -> None:
        if not text:
            return
        if result and result[-1]["type"] == "logs":
            result[-1]["logs"] += text
        else:
            result.append({"type": "logs", "logs": text})

    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            log(strip_ansi(str(output.get("text", ""))))
        elif kind == "error":
            log(error_text(output) + "\n")  # type: ignore[arg-type]
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            if any(m in data for m in IMAGE_MIMES):
                result.append({"type": "image", "url": image_url(images)})
                images += 1
            elif "text/plain" in data:
                text = data["text/plain"]
                log(("".join(text) if isinstance(text, list) else str(text)) + "\n")
    return result


def step_images(events: list[dict[str, Any]], step: int) -> list[tuple[str, bytes]]:
    """The images among a run step's outputs (as its completed event, or its live outputs, give them), in order,
    as (MIME type, bytes)."""
    live = OutputList()
    outputs: list[Any] | None = None
    for event in events:
        if event.get("type") != "step" or event.get("step") != step:
            continue
        if event.get("stage") == "in_progress" and "output" in event:
            live.add(event["output"])
        if event.get("stage") == "completed":
            outputs = event.get("outputs", live.items)
    found = []
    for output in outputs if outputs is not None else live.items:
        data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
        mime = next((m for m in IMAGE_MIMES if m in data), None)
        if mime is not None:
            value = data[mime]
            found.append((mime, base64.b64decode("".join(value) if isinstance(value, list) else value)))
    return found


def usage_of(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_tokens": int(usage.get("prompt_tokens", 0)),
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": int(usage.get("completion_tokens", 0)),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": int(usage.get("total_tokens", 0)),
    }


class ResponseBuilder:
    """Folds one run's events into a Response; ``feed`` returns the stream events each run event makes."""

    def __init__(
        self,
        base: dict[str, Any],
        *,
        container_id: str,
        include_outputs: bool,
        image_url: Callable[[int, int], str],
        cite: Cite,
    ) -> None:
        #: The Response's fields that do not come from the run (id, model, instructions, tools, ...).
        self.base = base
        self.container_id = container_id
        self.include_outputs = include_outputs
        self.image_url = image_url
        self.cite = cite
        self.output: list[dict[str, Any]] = []
        self.status = "in_progress"
        self.error: dict[str, Any] | None = None
        self.incomplete_details: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self.completed_at: float | None = None
        self._message: int | None = None  # index of the open message item
        self._calls: dict[int, int] = {}  # run step → index of its call item
        self._live: dict[int, OutputList] = {}
        self._hex = base["id"].removeprefix("resp_")
        self.sequence = 0
        #: When each output item began (its run event's time), for doors that date their items (Assistants).
        self.times: dict[int, float] = {}
        self._now = 0.0

    # -- the Response ------------------------------------------------------------------------------------

    def response(self) -> dict[str, Any]:
        return {
            **self.base,
            "object": "response",
            "status": self.status,
            "output": [self._public(item) for item in self.output],
            "error": self.error,
            "incomplete_details": self.incomplete_details,
            "usage": self.usage,
            "completed_at": self.completed_at,
        }

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        if item["type"] == "code_interpreter_call" and not self.include_outputs:
            return {**item, "outputs": None}
        return dict(item)

    def started(self) -> list[dict[str, Any]]:
        return [
            self._event("response.created", response=self.response()),
            self._event("response.in_progress", response=self.response()),
        ]

    def _part_event(self, type: str, index: int, **fields: Any) -> dict[str, Any]:
        """An event about the text part of the message at output ``index``."""
        return self._event(type, item_id=self.output[index]["id"], output_index=index, content_index=0, **fields)

    def _event(self, type: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    # -- the fold ----------------------------------------------------------------------------------------

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        self._now = float(event.get("time", self._now))
        if kind == "text_delta":
            return self._text(str(event.get("delta", "")))
        if kind == "step":
            return self._step(event)
        if kind == "usage":
            self.usage = usage_of(event.get("usage", {}))
        if kind == "run_ended":
            return self._ended(event)
        return []

    def _text(self, delta: str) -> list[dict[str, Any]]:
        if not delta:
            return []
        out = self._open_message()
        index = self._message
        assert index is not None
        item = self.output[index]
        item["content"][0]["text"] += delta
        out.append(self._part_event("response.output_text.delta", index, delta=delta, logprobs=[]))
        return out

    def _open_message(self) -> list[dict[str, Any]]:
        if self._message is not None:
            return []
        index = len(self.output)
        item: dict[str, Any] = {
            "id": f"msg_{self._hex}_{index}",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        self.output.append(item)
        self.times[index] = self._now
        self._message = index
        out = [self._event("response.output_item.added", output_index=index, item=dict(item, content=[]))]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        item["content"].append(part)
        out.append(self._part_event("response.content_part.added", index, part=dict(part)))
        return out

    def _close_message(
        self, phase: str, text: str | None = None, annotations: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        if self._message is None:
            return []
        index, self._message = self._message, None
        item = self.output[index]
        part = item["content"][0]
        if text is not None:
            part["text"] = text
        out = []
        for n, annotation in enumerate(annotations or []):
            part["annotations"].append(annotation)
            out.append(
                self._part_event(
                    "response.output_text.annotation.added", index, annotation_index=n, annotation=annotation
                )
            )
        item["status"] = "completed"
        item["phase"] = phase
        out.append(self._part_event("response.output_text.done", index, text=part["text"], logprobs=[]))
        out.append(self._part_event("response.content_part.done", index, part=dict(part)))
        out.append(self._event("response.output_item.done", output_index=index, item=self._public(item)))
        return out

    def _open_call(self, step: int) -> list[dict[str, Any]]:
        if step in self._calls:
            return []
        out = self._close_message("commentary")
        index = len(self.output)
        item = {
            "id": f"ci_{self._hex}_{step}",
            "type": "code_interpreter_call",
            "status": "in_progress",
            "code": "",
            "container_id": self.container_id,
            "outputs": None,
        }
        self.output.append(item)
        self.times[index] = self._now
        self._calls[step] = index
        self._live[step] = OutputList()
        out.append(self._event("response.output_item.added", output_index=index, item=dict(item)))
        out.append(self._event("response.code_interpreter_call.in_progress", item_id=item["id"], output_index=index))
        return out

    def _step(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        step = int(event.get("step", 0))
        stage = event.get("stage")
        out = self._open_call(step)
        index = self._calls[step]
        item = self.output[index]
        ids = {"item_id": item["id"], "output_index": index}
        if stage == "code_delta":
            item["code"] += str(event.get("delta", ""))
            out.append(self._event("response.code_interpreter_call_code.delta", delta=event.get("delta", ""), **ids))
        elif stage == "in_progress" and "code" in event:
            item["code"] = event["code"]
            item["status"] = "interpreting"
            out.append(self._event("response.code_interpreter_call_code.done", code=item["code"], **ids))
            out.append(self._event("response.code_interpreter_call.interpreting", **ids))
        elif stage == "in_progress" and "output" in event:
            self._live[step].add(event["output"])
        elif stage == "completed":
            if "code" in event:
                item["code"] = event["code"]
            outputs = event["outputs"] if "outputs" in event else self._live[step].items
            item["outputs"] = call_outputs(list(outputs), lambda n: self.image_url(step, n))
            item["status"] = CALL_STATUS.get(str(event.get("status")), "completed")
            out.append(self._event("response.code_interpreter_call.completed", **ids))
            out.append(self._event("response.output_item.done", output_index=index, item=self._public(item)))
        return out

    def _ended(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        answer = str(event.get("answer", ""))
        out: list[dict[str, Any]] = []
        if answer and self._message is None:  # an answer that was not streamed as text (a replayed end)
            out += self._text(answer)
        out += self._close_message("final_answer", answer or None, self._citations(event, answer))
        self.usage = usage_of(event.get("usage", {}))
        self.completed_at = float(event.get("time", 0.0)) or None
        status = event.get("status")
        if status == "completed":
            self.status = "completed"
        elif status == "cancelled":
            self.status = "cancelled"
        else:
            self.status = "failed"
            self.error = {"code": "server_error", "message": str(event.get("reason", "The run failed."))}
        return out

    def _citations(self, event: dict[str, Any], answer: str) -> list[dict[str, Any]]:
        """The answer's mentions of files as ``container_file_citation`` s; a markdown link naming a file twice
        (``[chart.png](sandbox:/mnt/data/chart.png)``) is cited once, on its target, as hosted."""
        citations: list[dict[str, Any]] = []
        for note in event.get("annotations", []) or []:
            record = self.cite(str(note.get("path", "")))
            if record is None:
                continue
            start, end = int(note.get("start", 0)), int(note.get("end", 0))
            last = citations[-1] if citations else None
            if last is not None and last["file_id"] == record["id"] and answer[last["end_index"] : start] == "](":
                citations.pop()
            citations.append(
                {
                    "type": "container_file_citation",
                    "container_id": self.container_id,
                    "file_id": record["id"],
                    "filename": record["path"].rsplit("/", 1)[-1],
                    "start_index": start,
                    "end_index": end,
                }
            )
        return citations

    def incomplete(self, reason: str) -> None:
        """The run was stopped by a limit of the request (``max_output_tokens``): incomplete, not failed."""
        self.status = "incomplete"
        self.error = None
        self.incomplete_details = {"reason": reason}

    def finished(self) -> list[dict[str, Any]]:
        """The stream's last event, for the Response's final status."""
        kind = {"completed": "response.completed", "failed": "response.failed"}.get(self.status, "response.incomplete")
        return [self._event(kind, response=self.response())]
