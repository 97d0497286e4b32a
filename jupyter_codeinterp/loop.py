"""The interpreter loop: the model writes code, the kernel runs it, the results go back, until an answer.

Plain asyncio: no tornado, HTTP or UI imports, so the server, the CLI and the ``%%interpret`` magic share it.
Messages are only ever appended (within a run and across a thread's runs) so providers' prompt caches hold.
Streaming each model reply is ``modelturn``'s; running each step's code is here.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .citations import cite_files
from .config import CodeInterpreter, ConfigError
from .events import Emitter, EventSink, Output, StepStatus, Usage
from .executor import ExecResult, Executor, KernelUnavailable
from .hooks import RunHooks
from .llm import FenceStream, Reply, parse_code_arguments, parse_json_tool_text
from .loopstate import LoopState, Message, Stop
from .modelturn import ChatModel, Model
from .outputs import render_for_model, settle
from .prompts import system_prompt
from .redaction import OutputRedactor, redact, scrub

__all__ = ["Interpreter", "LoopState", "Message", "RecordSink", "RunResult", "new_id"]

#: A door that persists a run as it grows: each event with the messages appended since the previous event, so both
#: can go into one transaction (a crash then never leaves a step recorded without its result in the thread).
RecordSink = Callable[[dict[str, Any], list[Message]], Awaitable[None] | None]
#: Turns what the model is told of a step (text, images) into the messages that complete it.
Answer = Callable[[str, list[tuple[str, str]]], list[Message]]

log = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@dataclass
class RunResult:
    status: str  # completed | failed | cancelled
    reason: str
    answer: str
    steps: list[dict[str, Any]]
    usage: Usage
    messages_added: list[Message]
    run_id: str = ""
    last_seq: int = 0
    #: The engine's state at the end: pass it to the next ``run`` to go on from here.
    state: LoopState | None = None


class Interpreter:
    """Runs one prompt to an answer. Make one per run; ``cancel()`` may be called from anywhere on the loop."""

    def __init__(
        self,
        config: CodeInterpreter,
        executor: Executor,
        *,
        client: Any = None,
        hooks: RunHooks | None = None,
        model: Model | None = None,
    ) -> None:
        self.config = config
        self.executor = executor
        self.hooks = hooks or RunHooks()
        self.model: Model = model or ChatModel(config, client, self._skip_step, self.hooks)
        self._task: asyncio.Task[tuple[str, str]] | None = None
        self._cancel_requested = False
        self._cancel_as = ("cancelled", "Cancelled by the user.")
        self._first_added = self._first_step = 0

    def cancel(self, status: str = "cancelled", reason: str = "Cancelled by the user.") -> None:
        """Abort the model stream and interrupt the kernel; ``run`` then ends with this status and reason
        (a server shutting down says ``failed`` and why)."""
        self._cancel_requested = True
        self._cancel_as = (status, reason)
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def run(
        self,
        prompt: str,
        *,
        messages: list[Message] | None = None,
        state: LoopState | None = None,
        emit: EventSink | None = None,
        record: RecordSink | None = None,
        run_id: str | None = None,
        thread_id: str = "",
        workdir: str | None = None,
        start_seq: int = 0,
        context: str = "",
        files: list[str] | None = None,
    ) -> RunResult:
        """Run ``prompt`` to an answer. ``context`` is told to the model with the prompt but not shown as it
        (e.g. that the kernel changed since the thread's last turn).

        The thread so far is ``messages`` (or a whole ``state`` from an earlier run). Events go to ``emit``, or to
        ``record`` together with the messages each one follows.
        """
        if state is None:
            state = LoopState(messages if messages is not None else [])
        emitter = Emitter(run_id or new_id("run"), self._sink(emit, record, state), start_seq)
        self.hooks.attach(emitter)
        # This run's messages and steps are those appended from here on.
        self._first_added, self._first_step = len(state.added), len(state.steps)
        attached = {"files": list(files)} if files else {}
        await emitter.emit("run_started", thread_id=thread_id, prompt=prompt, model=self.config.model, **attached)
        said = f"{context}\n\n{prompt}" if context else prompt
        notes = await self.hooks.turn_notes(state)  # e.g. profiles of the files the model gets
        said = f"{said}\n\n{notes}" if notes else said
        self._task = asyncio.ensure_future(self._loop(said, state, emitter, workdir))
        if self._cancel_requested:
            self._task.cancel()
        try:
            status, reason = await self._task
        except asyncio.CancelledError:
            await self._settle(state, emitter, "cancelled", "Cancelled by the user.")
            if not self._cancel_requested:
                # Our own caller was cancelled (e.g. server shutdown): record the end, then let it propagate.
                await self._end(state, emitter, "cancelled", "The run was stopped.")
                raise
            status, reason = self._cancel_as
        except Stop as stop:
            status, reason = stop.status, stop.reason
            await self._settle(state, emitter, "skipped", "Not run: the run ended (" + reason + ")")
        except Exception as exc:  # a bug of ours: end the run cleanly, keep the traceback in the log
            log.exception("codeinterp run %s crashed", emitter.run_id)
            status, reason = (
                "failed",
                redact(f"Internal error: {type(exc).__name__}: {exc}", self.config.api_key),
            )
        finally:
            await self.model.close()
        return await self._end(state, emitter, status, reason)

    def _sink(self, emit: EventSink | None, record: RecordSink | None, state: LoopState) -> EventSink | None:
        """The emitter's sink: no event or message carries the API key (code can print the kernel's environment)."""
        key = self.config.api_key
        if record is not None:
            return lambda event: record(scrub(event, key), scrub(state.take_new(), key))
        if emit is not None:
            return lambda event: emit(scrub(event, key))
        return None

    async def _end(self, state: LoopState, em: Emitter, status: str, reason: str) -> RunResult:
        answer = redact(state.answer, self.config.api_key) if status == "completed" else ""
        written = [f["path"] for step in state.steps[self._first_step :] for f in step.get("files", [])]
        cited = {"annotations": annotations} if (annotations := cite_files(answer, written)) else {}
        await em.emit(
            "run_ended",
            status=status,
            reason=reason,
            answer=answer,
            usage=state.usage,
            steps=len(state.steps),
            **cited,
        )
        added, steps = state.added[self._first_added :], state.steps[self._first_step :]
        return RunResult(status, reason, answer, steps, state.usage, added, em.run_id, em.seq, state)

    async def _settle(self, state: LoopState, em: Emitter, step_status: StepStatus, note: str) -> None:
        """Close open steps and answer pending tool calls, so the thread's history stays valid for its next run."""
        for call_id in state.pending_calls:
            state.append({"role": "tool", "tool_call_id": call_id, "content": note})
        state.pending_calls.clear()
        for step, (code, outputs) in sorted(state.open_steps.items()):
            status: StepStatus = "cancelled" if outputs or step_status == "cancelled" else step_status
            await self._complete_step(state, em, step, code, ExecResult(status, settle(outputs)), 0.0)

    async def _skip_step(self, st: LoopState, em: Emitter, step: int, code: str, result: ExecResult) -> None:
        await self._complete_step(st, em, step, code, result, 0.0)

    # -- the loop ------------------------------------------------------------------------------------

    async def _loop(self, prompt: str, st: LoopState, em: Emitter, workdir: str | None) -> tuple[str, str]:
        cfg = self.config
        try:
            cfg.check()
        except ConfigError as exc:
            raise Stop("failed", str(exc)) from exc
        if not st.messages:
            st.append(
                {
                    "role": "system",
                    "content": system_prompt(
                        workdir=workdir,
                        max_output_chars=cfg.max_output_chars,
                        markdown_mode=self.model.markdown,
                        extra=cfg.extra_system_prompt,
                    ),
                }
            )
        st.append({"role": "user", "content": prompt})
        while True:
            reply, turn = await self.model.turn(st, em)
            if reply.tool_calls:
                await self._run_tool_calls(st, em, reply)
                continue
            code, step = self._text_code(reply, turn.fence, st)
            if code is not None:
                st.append({"role": "assistant", "content": reply.content})
                if step is None:
                    step = st.next_step()
                    await em.step(step, "started")
                    await em.step(step, "code_delta", delta=code)
                self._check_limit(st)
                await self._execute(
                    st,
                    em,
                    step,
                    code,
                    lambda text, images: [
                        {"role": "user", "content": self._with_images(f"Output of the code:\n{text}", images)}
                    ],
                )
                continue
            st.append({"role": "assistant", "content": reply.content})
            st.answer = reply.content
            return "completed", ""

    def _text_code(self, reply: Reply, fence: FenceStream, st: LoopState) -> tuple[str | None, int | None]:
        """Code to run from a reply without tool calls: its ```python block (markdown mode) or a JSON call."""
        if self.model.markdown and fence.code is not None:
            return fence.code, st.step_count if st.step_count in st.open_steps else None
        if not self.model.markdown and self.config.tool_mode == "auto":
            return parse_json_tool_text(reply.content), None
        return None, None

    def _check_limit(self, st: LoopState) -> None:
        if st.executed >= self.config.max_steps:
            raise Stop(
                "failed",
                f"Stopped: reached max_steps ({self.config.max_steps}) before the model gave a final answer.",
            )

    async def _run_tool_calls(self, st: LoopState, em: Emitter, reply: Reply) -> None:
        st.append(
            {
                "role": "assistant",
                "content": reply.content,  # "" when there is no text: servers differ on null (modelturn._sendable)
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in reply.tool_calls
                ],
            }
        )
        st.pending_calls = [c.id for c in reply.tool_calls]
        images: list[tuple[str, str]] = []
        limit_hit: Stop | None = None
        last = len(reply.tool_calls) - 1
        for index, call in enumerate(reply.tool_calls):
            step = call.step if call.step is not None else st.next_step()
            if call.step is None:
                await em.step(step, "started")

            def answer(
                text: str, new_images: list[tuple[str, str]], call_id: str = call.id, final: bool = index == last
            ) -> list[Message]:
                """The tool result (and, after the last call, the images of all of them): the messages that go
                with the step's ``completed`` event."""
                images.extend(new_images)
                st.pending_calls.remove(call_id)
                messages: list[Message] = [{"role": "tool", "tool_call_id": call_id, "content": text}]
                if final and images:
                    messages.append(
                        {"role": "user", "content": self._with_images("Images displayed by the code above:", images)}
                    )
                return messages

            if limit_hit is None:
                try:
                    self._check_limit(st)
                except Stop as stop:
                    limit_hit = stop
            if limit_hit is not None:
                text = "Not run: the step limit was reached."
                await self._complete_step(st, em, step, call.stream.code, ExecResult("skipped"), 0.0, answer(text, []))
            elif call.name != "python":
                text = f"Unknown tool {call.name!r}: the only tool is python(code)."
                result = self._tool_error("UnknownTool", text)
                await self._complete_step(st, em, step, "", result, 0.0, answer(text, []))
            else:
                try:
                    code = parse_code_arguments(call.arguments)
                except ValueError as exc:
                    text = f"{exc} Nothing was run; call python again with valid arguments."
                    result = self._tool_error("ToolArgumentsError", str(exc))
                    await self._complete_step(st, em, step, call.stream.code, result, 0.0, answer(text, []))
                else:
                    await self._execute(st, em, step, code, answer)
        if limit_hit is not None:
            raise limit_hit

    @staticmethod
    def _tool_error(ename: str, evalue: str) -> ExecResult:
        return ExecResult("error", [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}])

    @staticmethod
    def _with_images(text: str, images: list[tuple[str, str]]) -> str | list[dict[str, Any]]:
        if not images:
            return text
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for mime, data in images:
            parts.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}})
        return parts

    # -- one execution --------------------------------------------------------------------------------

    async def _execute(self, st: LoopState, em: Emitter, step: int, code: str, answer: Answer) -> None:
        """Run one step's code (as the hooks decide); ``answer`` turns what the model is told into the messages
        that complete the step, appended before its ``completed`` event so both are recorded together."""
        cfg = self.config
        decision = await self.hooks.before_execute(st, step, code)
        if decision.action == "skip":
            text = "Not run: the user skipped this step." + (
                f" Their reason: {decision.reason}" if decision.reason else ""
            )
            result = ExecResult("skipped", message=text)
            await self._complete_step(st, em, step, code, result, 0.0, answer(text, []))
            return
        edited = decision.code is not None and decision.code != code
        code = decision.code if decision.code is not None else code
        st.open_steps[step] = (code, [])
        await em.step(step, "in_progress", code=code)
        started = time.monotonic()

        streams = OutputRedactor(cfg.api_key)

        async def show(output: Output) -> None:
            st.open_steps[step][1].append(output)
            await em.step(step, "in_progress", output=output)

        async def on_output(output: Output) -> None:
            for shown in streams.feed(output):
                await show(shown)

        async def flush() -> None:
            for shown in streams.flush():
                await show(shown)

        st.executed += 1
        try:
            result = await self.executor.execute(code, on_output, cfg.exec_timeout)
        except KernelUnavailable as exc:
            await flush()
            outputs = settle(st.open_steps[step][1])
            text = f"{exc}\nNothing more can run."
            await self._complete_step(st, em, step, code, ExecResult("error", outputs), 0.0, answer(text, []))
            raise Stop("failed", str(exc)) from exc
        except BaseException:  # cancelled: what was held back still belongs to the step's outputs
            await flush()
            raise
        await flush()
        elapsed = time.monotonic() - started
        result.outputs = scrub(result.outputs, cfg.api_key)
        await self.hooks.after_execute(st, step, code, result)
        view = render_for_model(
            result.outputs, limit=cfg.max_output_chars, vision=cfg.vision, max_images=cfg.max_images_per_step
        )
        text = view.text or "(no output)"
        if result.status == "timeout":
            text = f"{result.message}\nPartial output:\n{view.text or '(none)'}"
        elif result.status == "kernel_restarted":
            await em.emit("kernel_restarted", step=step, message=result.message)
            text = f"{result.message}\nOutput before the kernel died:\n{view.text or '(none)'}"
        if edited:
            text = f"(The user edited your code before it ran; this is what ran:\n```python\n{code}\n```)\n{text}"
        await em.step(step, "interpreting")
        await self._complete_step(st, em, step, code, result, elapsed, answer(text, view.images))

    async def _complete_step(
        self,
        st: LoopState,
        em: Emitter,
        step: int,
        code: str,
        result: ExecResult,
        elapsed: float,
        messages: list[Message] = (),  # type: ignore[assignment]
    ) -> None:
        """Record the step as done; ``messages`` (what the model is told of it) are appended first, so that a door
        recording as it goes stores them in the same transaction as the ``completed`` event."""
        for message in messages:
            st.append(message)
        _, live = st.open_steps.pop(step, ("", []))
        status: StepStatus = result.status
        record: dict[str, Any] = {
            "step": step,
            "code": code,
            "outputs": result.outputs,
            "status": status,
            "execution_count": result.execution_count,
            "elapsed": round(elapsed, 3),
        }
        if result.message:
            record["message"] = result.message
        if result.files:
            record["files"] = result.files
        if result.files_truncated:
            record["files_truncated"] = True
        record = scrub(record, self.config.api_key)
        st.steps.append(record)
        # Outputs go out once: a client folds the live ones to these, so they are repeated only where they differ
        # (outputs that never streamed, display updates, a different coalescing).
        same = record["outputs"] == settle(live)
        fields = {k: v for k, v in record.items() if k != "step" and not (k == "outputs" and same)}
        await em.step(step, "completed", **fields)
