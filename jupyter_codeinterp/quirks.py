"""What real OpenAI-compatible servers need that the API does not say (found by running llama-cpp-python's server).

- A thread sent with an assistant tool-call message whose ``content`` is null is refused (500) by llama-cpp-python:
  ``sendable`` says ``""`` instead (OpenAI, vLLM and Ollama take both).
- llama-cpp-python cannot stream a tool call it chose itself (``tool_choice: "auto"``): it answers 200 and then
  ends or drops an empty stream. ``ended_or_closed`` tells that from a network fault; the model turn then asks
  without streaming, and ``Replay(completion_as_chunk(...))`` reads the whole reply as one streamed chunk.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def completion_as_chunk(completion: Any) -> Any:
    """A non-streamed ``ChatCompletion`` as the one chunk that streams it: its message as the delta (tool calls
    keep their order as indexes), with its finish reason and usage."""
    choices = []
    for choice in completion.choices or []:
        message = choice.message
        calls = [
            SimpleNamespace(index=index, id=call.id, function=call.function)
            for index, call in enumerate(message.tool_calls or [])
        ]
        delta = SimpleNamespace(content=message.content, tool_calls=calls)
        choices.append(SimpleNamespace(delta=delta, finish_reason=choice.finish_reason or "stop"))
    return SimpleNamespace(choices=choices, usage=completion.usage)


def sendable(messages: list[Any]) -> list[Any]:
    """The thread as sent: an assistant tool-call message without text says ``""``, not null (OpenAI takes both;
    llama-cpp-python's server rejects null with a 500)."""
    return [{**m, "content": ""} if m.get("role") == "assistant" and m.get("content") is None else m for m in messages]


NO_STREAM = "The endpoint sent an empty stream for a request with tools; asking without streaming from now on."


def ended_or_closed(broken: BaseException | None) -> bool:
    """The stream ended, or the server closed it (not a reset or a stall: those are the network's)."""
    if broken is None:
        return True
    cause: BaseException | None = broken
    while cause is not None:
        if "RemoteProtocolError" in {cls.__name__ for cls in type(cause).__mro__}:
            return True
        cause = cause.__cause__
    return False


class Replay:
    """A whole (non-streamed) reply as a stream of one chunk, so that it is read as streamed replies are."""

    def __init__(self, chunk: Any) -> None:
        self._chunks = [chunk]

    def __aiter__(self) -> Replay:
        return self

    async def __anext__(self) -> Any:
        if not self._chunks:
            raise StopAsyncIteration
        return self._chunks.pop()
