"""A thread's chat history kept valid for the model, whatever stopped its runs."""

from __future__ import annotations

from typing import Any

#: What the model is told of a tool call whose result was never recorded (the server stopped while it ran).
UNANSWERED = (
    "Not run to the end: the run stopped (the server stopped or crashed) before this call's result was recorded."
)


def repaired(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with a tool result for every tool call left unanswered, right after the other results.

    Chat APIs refuse a history whose assistant tool calls are not each followed by their result; a crash mid-step
    leaves exactly that. The stored messages stay as they were; only what the model is sent is completed.
    """
    out: list[dict[str, Any]] = []
    waiting: list[str] = []

    def answer_waiting() -> None:
        out.extend({"role": "tool", "tool_call_id": call_id, "content": UNANSWERED} for call_id in waiting)
        waiting.clear()

    for message in messages:
        if message.get("role") == "tool" and message.get("tool_call_id") in waiting:
            waiting.remove(message["tool_call_id"])
            out.append(message)
            continue
        answer_waiting()
        out.append(message)
        if message.get("role") == "assistant":
            waiting.extend(str(call.get("id")) for call in message.get("tool_calls") or [])
    answer_waiting()
    return out


def unanswered_tail(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool results that the thread's last assistant message still waits for (what a crash mid-step leaves):
    recovery appends them to the store, so the recorded history itself says what happened."""
    fixed = repaired(messages)
    return fixed[len(messages) :] if fixed[: len(messages)] == messages else []
