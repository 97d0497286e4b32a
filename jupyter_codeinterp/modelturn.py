"""One model turn: streaming a reply, showing its text and code as they come (redacted), and telling a reply
that finished from one cut off, which is asked again while that is safe.

``Model`` is what the loop needs from a model; ``ChatModel`` is it over the Chat Completions API (any
OpenAI-compatible endpoint). Another API (e.g. Responses) would be another ``Model``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import tokens
from .budgets import add_usage
from .config import CodeInterpreter
from .events import Emitter
from .executor import ExecResult
from .hooks import RunHooks
from .llm import (
    PYTHON_TOOL,
    FenceStream,
    Reply,
    ToolCall,
    describe_error,
    describe_unfinished,
    is_stream_break,
    rejects_tools,
    unfinished,
)
from .loopstate import LoopState, Stop
from .quirks import NO_STREAM, Replay, completion_as_chunk, ended_or_closed, sendable
from .redaction import StreamRedactor

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """One request to the model as shown so far, so that a stream cut off can be taken back and asked again.

    Its text and code are shown through redactors: a key the model was given (or made up) never goes out in pieces.
    """

    text: StreamRedactor
    secret: str | None
    fence: FenceStream = field(default_factory=FenceStream)
    code: dict[int, StreamRedactor] = field(default_factory=dict)
    #: The assistant text shown to the user so far (text_delta events).
    shown: str = ""

    def code_redactor(self, step: int) -> StreamRedactor:
        return self.code.setdefault(step, StreamRedactor(self.secret))


#: What a step the model was still writing says when its stream was cut off (by ``unfinished``'s reason).
_NOT_RUN = {
    "cut": "Not run: the model stream was cut off before this code was complete.",
    "length": "Not run: the model hit its output token limit before this code was complete.",
}
_RETRYING = {
    "cut": "The model stream was cut off before it finished; asking again",
    "length": "The model hit its output token limit before finishing; asking again",
}


#: How the loop completes a step that never ran (a cut stream's half-written code): ``(state, emitter, step, code,
#: result)``.
SkipStep = Callable[[LoopState, Emitter, int, str, ExecResult], Awaitable[None]]


class Model(Protocol):
    """One model turn at a time: stream a reply to ``state.messages`` as events, return it when it is complete."""

    #: Code comes as ```python blocks in text rather than tool calls (set when the endpoint rejects tools).
    markdown: bool

    async def turn(self, st: LoopState, em: Emitter) -> tuple[Reply, Turn]: ...

    async def close(self) -> None: ...


class ChatModel:
    """A ``Model`` over the Chat Completions API, with the python tool (or ```python blocks in markdown mode)."""

    #: Seconds before asking the model again after a cut stream; doubles with each retry of a turn.
    retry_backoff = 0.5

    def __init__(
        self, config: CodeInterpreter, client: Any, skip_step: SkipStep, hooks: RunHooks | None = None
    ) -> None:
        self.config = config
        #: The openai client; made on first use when None, and then closed by ``close``.
        self.client = client
        self._owns_client = client is None
        self._skip_step = skip_step
        self._hooks = hooks or RunHooks()
        self.markdown = config.tool_mode == "markdown"
        #: Replies are streamed, unless the endpoint showed it cannot stream tool calls.
        self.streaming = True

    async def close(self) -> None:
        if self._owns_client and self.client is not None:
            client, self.client = self.client, None
            await client.close()

    async def turn(self, st: LoopState, em: Emitter) -> tuple[Reply, Turn]:
        if self.client is None:
            from .llm import make_client

            self.client = make_client(self.config)
        return await self._complete(st, em)

    async def _complete(self, st: LoopState, em: Emitter) -> tuple[Reply, Turn]:
        """One model turn. A stream that did not finish (cut off, or stopped at the output token limit) is no
        answer: nothing from it runs, and the same request is made again, up to ``max_retries`` times."""
        retries = 0
        while True:
            await self._hooks.before_model_call(st)
            turn = Turn(StreamRedactor(self.config.api_key), self.config.api_key)
            reply = await self._stream(st, em, turn)
            problem = unfinished(reply)
            if problem is None:
                await self._finish_turn(em, turn)
                return reply, turn
            wrote_code = bool(st.open_steps)
            for step, (code, _) in sorted(st.open_steps.items()):  # only this turn's steps are open now
                await self._skip_step(st, em, step, code, ExecResult("skipped", message=_NOT_RUN[problem]))
            if retries >= self.config.max_retries:
                raise Stop("failed", describe_unfinished(problem, reply.broken, self.config))
            retries += 1
            take_back = {"retract_text": turn.shown} if turn.shown and not wrote_code else {}
            message = f"{_RETRYING[problem]} (retry {retries} of {self.config.max_retries})."
            await em.emit("notice", level="warning", message=message, **take_back)
            log.info("codeinterp run %s: model stream unfinished (%s), retrying", em.run_id, problem)
            await asyncio.sleep(self.retry_backoff * 2 ** (retries - 1))

    async def _stream(self, st: LoopState, em: Emitter, turn: Turn) -> Reply:
        """Make one model request and show its reply as it streams; a stream that breaks is returned ``broken``."""
        cfg = self.config
        # The thread goes in ``extra_body``, which the SDK sends as it is: passed as ``messages`` it would be
        # walked and re-typed whole on every request (``_async_transform_recursive``), a cost growing with the
        # thread. Our messages are plain JSON already; retries, timeouts and stream parsing stay the SDK's.
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": [],
            "extra_body": {"messages": sendable(st.messages)},
            "stream": self.streaming,
        }
        if self.streaming:
            kwargs["stream_options"] = {"include_usage": True}
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        if not self.markdown:
            # Said explicitly: llama-cpp-python's server takes a missing tool_choice as "none" (OpenAI: "auto").
            kwargs["tools"], kwargs["tool_choice"] = [PYTHON_TOOL], "auto"
        try:
            stream = await self.client.chat.completions.create(**kwargs)
            if not self.streaming:
                stream = Replay(completion_as_chunk(stream))
        except Exception as exc:
            if cfg.tool_mode == "auto" and not self.markdown and rejects_tools(exc):
                self.markdown = True
                await em.emit(
                    "notice",
                    level="warning",
                    message="The endpoint rejected tool calling; falling back to ```python blocks in text.",
                )
                return await self._stream(st, em, turn)
            raise self._llm_failure(exc) from exc
        reply = Reply()
        calls: dict[int, ToolCall] = {}
        chunks = stream.__aiter__()
        received = False
        try:
            while True:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # only the model's stream failing is the model's fault
                    if not is_stream_break(exc):
                        raise self._llm_failure(exc) from exc
                    reply.broken = exc
                    break
                received = True
                await self._on_chunk(st, em, turn, reply, calls, chunk)
        finally:
            await _close_quietly(stream)
        if not received and "tools" in kwargs and self.streaming and ended_or_closed(reply.broken):
            # llama-cpp-python (chatml-function-calling) cannot stream a tool call it chose itself: it answers 200,
            # then ends or drops the stream with nothing in it. Asked again without streaming, it returns the call.
            # The pause lets the dropped connection close before the client would reuse it.
            self.streaming = False
            await em.emit("notice", level="info", message=NO_STREAM)
            await asyncio.sleep(self.retry_backoff)
            return await self._stream(st, em, turn)
        reply.tool_calls = [calls[i] for i in sorted(calls)]
        for call in reply.tool_calls:
            call.id = call.id or f"call_{uuid.uuid4().hex[:12]}"  # some local servers send none
        await self._count(st, em, kwargs, reply)
        return reply

    async def _count(self, st: LoopState, em: Emitter, request: dict[str, Any], reply: Reply) -> None:
        """Add the turn's usage to the run's: as the endpoint reported it, else counted here (``estimated``)."""
        usage, estimated = reply.usage, False
        if not usage:
            prompt = tokens.count_messages(request["extra_body"]["messages"], request.get("tools"))
            calls = [(call.name, call.arguments) for call in reply.tool_calls]
            completion = tokens.count_reply(reply.content, calls)
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            estimated = True
        add_usage(st.usage, usage, estimated=estimated, price=self.config.prices.get(self.config.model))
        await em.emit("usage", usage=dict(st.usage))

    async def _finish_turn(self, em: Emitter, turn: Turn) -> None:
        """The stream finished: show what was held back (markdown prose, redactors' tails)."""
        if self.markdown:
            rest = turn.fence.finish()
            if rest:
                await self._say(em, turn, rest)
        await self._flush_text(em, turn)
        for step, redactor in turn.code.items():
            rest = redactor.flush()
            if rest:
                await em.step(step, "code_delta", delta=rest)

    async def _say(self, em: Emitter, turn: Turn, text: str) -> None:
        await self._show_text(em, turn, turn.text.feed(text))

    async def _flush_text(self, em: Emitter, turn: Turn) -> None:
        await self._show_text(em, turn, turn.text.flush())

    async def _show_text(self, em: Emitter, turn: Turn, text: str) -> None:
        if text:
            turn.shown += text
            await em.emit("text_delta", delta=text)

    async def _on_chunk(
        self, st: LoopState, em: Emitter, turn: Turn, reply: Reply, calls: dict[int, ToolCall], chunk: Any
    ) -> None:
        if getattr(chunk, "usage", None):
            reply.usage = {
                "prompt_tokens": chunk.usage.prompt_tokens or 0,
                "completion_tokens": chunk.usage.completion_tokens or 0,
                "total_tokens": chunk.usage.total_tokens or 0,
            }
        if not chunk.choices:
            return
        choice = chunk.choices[0]
        delta = choice.delta
        if delta is not None and delta.content:
            reply.content += delta.content
            await self._on_text(st, em, turn, delta.content)
        for tc in (delta.tool_calls if delta is not None else None) or []:
            await self._on_tool_delta(st, em, turn, calls, tc)
        if choice.finish_reason:
            reply.finish_reason = choice.finish_reason

    def _llm_failure(self, exc: BaseException) -> Stop:
        return Stop("failed", describe_error(exc, self.config))

    async def _on_text(self, st: LoopState, em: Emitter, turn: Turn, text: str) -> None:
        if not self.markdown:
            await self._say(em, turn, text)
            return
        prose, code, started = turn.fence.feed(text)
        if prose:
            await self._say(em, turn, prose)
        if started:
            await self._flush_text(em, turn)
            await em.step(st.next_step(), "started")
        if code:
            await self._code_delta(st, em, turn, st.step_count, code)

    async def _on_tool_delta(self, st: LoopState, em: Emitter, turn: Turn, calls: dict[int, ToolCall], tc: Any) -> None:
        index = tc.index if tc.index is not None else len(calls)
        call = calls.get(index)
        if call is None:
            call = calls[index] = ToolCall(id=tc.id or "", name="")
        elif tc.id and not call.id:
            call.id = tc.id
        fn = tc.function
        if fn is not None and fn.name:
            call.name += fn.name
        if call.step is None and call.name:
            await self._flush_text(em, turn)
            call.step = st.next_step()
            await em.step(call.step, "started")
        if fn is not None and fn.arguments:
            call.arguments += fn.arguments
            if call.step is not None:
                new = call.stream.feed(fn.arguments)
                if new:
                    await self._code_delta(st, em, turn, call.step, new)

    async def _code_delta(self, st: LoopState, em: Emitter, turn: Turn, step: int, delta: str) -> None:
        code, outputs = st.open_steps.get(step, ("", []))
        st.open_steps[step] = (code + delta, outputs)
        shown = turn.code_redactor(step).feed(delta)
        if shown:
            await em.step(step, "code_delta", delta=shown)


async def _close_quietly(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if close is None:
        return
    try:
        await asyncio.shield(close())
    except Exception:
        log.debug("closing the model stream failed", exc_info=True)
