"""The run service: runs on the server's kernels, their live event logs, cancellation and threads.

It belongs to the server, not to a browser tab: a run goes on in a server task whether or not anyone listens,
and every event is stored as it happens, so a client can reconnect from the last ``seq`` it saw and miss
nothing. Plain asyncio, no tornado: the HTTP handlers are a thin layer over this.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, TypeVar

from .approval import PendingApproval
from .attachments import AttachmentError, resolve
from .budgets import Amounts, budget_for
from .config import CodeInterpreter, ConfigError
from .connection import Connection
from .events import run_ended
from .filetrack import FileTracker
from .hooks import RunHooks, chain
from .kernel_clients import KernelClients
from .liverun import LiveRun
from .redaction import scrub
from .run_approvals import RunApprovals
from .run_reads import RunReads
from .run_recovery import RESTART_REASON, StoreCatchUp
from .store import Store
from .store_errors import StoreFailure
from .validation import BadRequest, Conflict, NotFound, PayloadTooLarge, StartRequest, Unavailable

__all__ = ["RESTART_REASON", "SHUTDOWN_REASON", "STORE_FAILED_REASON", "RunService"]

T = TypeVar("T")

#: How long ``cancel`` waits for the engine to wind a run down before cancelling its task outright.
CANCEL_GRACE = 0.8
#: How long server shutdown waits for runs to record their end.
SHUTDOWN_GRACE = 5.0
SHUTDOWN_REASON = "The server shut down while this run was in progress."
STORE_FAILED_REASON = "The run could no longer be recorded, so it was stopped:"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


# -- the service --------------------------------------------------------------------------------------


class RunService(RunReads, StoreCatchUp, RunApprovals):
    """Starts runs on the server's kernels, stores and fans out their events, cancels them; reads are ``RunReads``."""

    def __init__(
        self,
        *,
        store: Store,
        config: CodeInterpreter,
        kernel_manager: Any,
        root_dir: str,
        max_prompt_chars: int,
        list_models: bool = True,
        log: logging.Logger | None = None,
        connection: Connection | None = None,
    ) -> None:
        self.store = store
        #: Whose settings runs use: the server's, or those connected from the sidebar (see connection.py).
        self.connection = connection or Connection(config)
        self.kernel_manager = kernel_manager
        self.root_dir = root_dir
        self.max_prompt_chars = max_prompt_chars
        self.list_models_enabled = list_models
        self.log = log or logging.getLogger(__name__)
        self._live: dict[str, LiveRun] = {}
        self._by_kernel: dict[str, str] = {}
        self._by_thread: dict[str, str] = {}
        #: One kernel client per kernel, kept across its runs (see kernel_clients.py).
        self.kernel_clients = KernelClients(kernel_manager)
        self._client: Any = None
        self._client_config: CodeInterpreter | None = None
        #: Clients of earlier connections: runs in progress keep theirs; closed at shutdown.
        self._retired_clients: list[Any] = []
        self._stopping = False
        #: Whether the runs a previous process left in flight have been recorded as failed.
        self._recovered = False
        self._catching_up: asyncio.Task[None] | None = None

    # -- startup and shutdown --------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop every run (recording why), then close the model client and the store."""
        self._stopping = True
        live = list(self._live.values())
        for run in live:
            if run.interp is not None:
                run.interp.cancel("failed", SHUTDOWN_REASON)  # the engine ends the run, saying why
            elif run.task is not None:
                run.task.cancel()
        if live:
            await asyncio.wait([asyncio.ensure_future(r.done.wait()) for r in live], timeout=SHUTDOWN_GRACE)
        for run in live:
            if not run.done.is_set() and run.task is not None:
                run.task.cancel()
        if self._catching_up is not None:
            self._catching_up.cancel()
        try:
            self._catch_up()
        except StoreFailure as failure:
            self.log.error("codeinterp: some run ends could not be recorded before stopping: %s", failure.message)
        self.kernel_clients.close()
        for client in [*self._retired_clients, self._client]:
            if client is None:
                continue
            try:
                await client.close()
            except Exception:
                self.log.debug("closing the model client failed", exc_info=True)
        self.store.close()

    # -- configuration ---------------------------------------------------------------------------------

    def problem(self, config: CodeInterpreter | None = None) -> str | None:
        """Why a run could not start with this configuration, in words saying what to set; else None."""
        config = config or self.config
        try:
            config.check()
            _ = config.resolved_base_url
        except ConfigError as exc:
            return str(exc)
        return None

    def public_config(self) -> dict[str, Any]:
        try:
            public = self.config.public_dict()
        except ConfigError:  # a malformed base_url, reported in "problem"
            base_url, self.config.base_url = self.config.base_url, ""
            try:
                public = {**self.config.public_dict(), "base_url_host": ""}
            finally:
                self.config.base_url = base_url
        return {
            **public,
            "max_prompt_chars": self.max_prompt_chars,
            "list_models": self.list_models_enabled,
            "problem": self.problem(),
            "store_problem": failure.message if (failure := self.store.check()) else None,
        }

    @property
    def config(self) -> CodeInterpreter:
        """The settings a run starting now uses (runs in progress keep the ones they started with)."""
        return self.connection.config

    def _get_client(self) -> Any:
        config = self.config
        if self._client is None or self._client_config is not config:
            from .llm import make_client

            client = make_client(config)
            if self._client is not None:
                self._retired_clients.append(self._client)
            self._client, self._client_config = client, config
        return self._client

    async def list_models(self) -> dict[str, Any]:
        """The endpoint's model ids. An endpoint failure is reported in ``problem``, not as an error status."""
        if not self.list_models_enabled:
            raise NotFound("Listing models is turned off (CodeInterpreterApp.list_models = False).")
        try:
            client = self._get_client()
            page = await client.models.list()
            ids = sorted({m.id for m in page.data})
        except ConfigError as exc:
            return {"models": [], "problem": str(exc)}
        except Exception as exc:
            from .llm import describe_error

            return {"models": [], "problem": describe_error(exc, self.config)}
        return {"models": ids, "problem": None}

    # -- runs ------------------------------------------------------------------------------------------

    def start(self, req: StartRequest) -> dict[str, str]:
        """Start a run in a server task; raise ServiceError (404, 409, 503) if it cannot start.

        Synchronous on purpose: the checks and the claim on the kernel happen with no await in between,
        so two concurrent requests cannot both get the same kernel.
        """
        if self._stopping:
            raise Unavailable("The server is shutting down.")
        config = self._run_config(req.model, req.overrides)
        problem = self.problem(config)
        if problem:
            raise Unavailable(problem)
        if req.kernel_id not in self.kernel_manager:
            raise NotFound(f"No kernel with id {req.kernel_id!r}: start one first (POST /api/kernels).")
        active = self._by_kernel.get(req.kernel_id)
        if active:
            raise Conflict(
                f"Kernel {req.kernel_id} already has an active run ({active}); runs are not queued: "
                "cancel it or wait for it to end.",
                run_id=active,
            )
        self._catch_up()  # what the store could not take before goes first: a thread's turns stay in order
        thread = self._resolve_thread(req)
        if thread is not None and thread["thread_id"] in self._by_thread:
            active = self._by_thread[thread["thread_id"]]
            raise Conflict(
                f"Thread {thread['thread_id']} already has an active run ({active}) on another kernel.",
                run_id=active,
            )
        notebook_path = req.notebook_path or (thread["notebook_path"] if thread else "")
        # Before anything is recorded: if this fails, nothing is left claiming the kernel.
        approval = req.approval or config.approval
        approvals = PendingApproval() if approval == "ask" else None
        attached = self._attachments(req, config)
        spent = Amounts.of(self.store.thread_usage(thread["thread_id"])) if thread else None
        tracker = FileTracker(attached, first_turn=thread is None)
        # A step the budget stops is never put to the user; the folder is looked at only around what really runs.
        hooks = chain(budget_for(config, spent), approvals, tracker, *req.hooks)
        interp, executor = self._make_interpreter(req.kernel_id, config, hooks)
        tracker.bind(executor.evaluate)
        new_title = " ".join(req.prompt.split())[:80] if thread is None else None
        thread_id = new_id("t") if thread is None else thread["thread_id"]

        run = LiveRun(
            run_id=new_id("r"),
            thread_id=thread_id,
            kernel_id=req.kernel_id,
            notebook_path=notebook_path,
            prompt=self._scrub(req.prompt),
            model=config.model,
            created=time.time(),
            interp=interp,
            approval=approval,
            approvals=approvals,
            files=list(req.files),
        )
        try:
            self.store.create_run(
                run.run_id,
                thread_id,
                run.kernel_id,
                notebook_path,
                run.prompt,
                run.model,
                run.created,
                new_thread_title=new_title,
            )
        except BaseException:
            self.kernel_clients.release(req.kernel_id, executor)
            raise
        self._live[run.run_id] = run
        self._by_kernel[run.kernel_id] = run.run_id
        self._by_thread[thread_id] = run.run_id
        run.task = asyncio.ensure_future(self._drive(run, executor))
        self.log.info("codeinterp: run %s started on kernel %s (thread %s)", run.run_id, run.kernel_id, thread_id)
        return {"run_id": run.run_id, "thread_id": thread_id}

    def _attachments(self, req: StartRequest, config: CodeInterpreter) -> list[str]:
        """The attached files as absolute paths, each checked (404 missing, 413 too large, 400 out of the root)."""
        paths = []
        for name in req.files:
            try:
                paths.append(str(resolve(self.root_dir, name, config.max_file_bytes)))
            except AttachmentError as exc:
                if exc.missing:
                    raise NotFound(f"Attached file {exc}.") from None
                if "the limit is" in str(exc):
                    raise PayloadTooLarge(f"Attached file {exc}.") from None
                raise BadRequest(f"Attached file {exc}.") from None
        return paths

    def _resolve_thread(self, req: StartRequest) -> dict[str, Any] | None:
        if req.thread_id == "new":
            return None
        if req.thread_id is not None:
            thread = self.store.get_thread(req.thread_id)
            if thread is None:
                raise NotFound(f"No thread with id {req.thread_id!r}.")
            return thread
        if req.notebook_path:
            return self.store.latest_thread(req.notebook_path)
        return None

    def _run_config(self, model: str | None, overrides: dict[str, Any] | None = None) -> CodeInterpreter:
        """The server's settings, with this run's model if it names one and the overrides a door asked for."""
        changes = {**({"model": model} if model and model != self.config.model else {}), **(overrides or {})}
        if not changes:
            return self.config
        values = {name: getattr(self.config, name) for name in self.config.trait_names(config=True)}
        return CodeInterpreter(**{**values, **changes})

    def _make_interpreter(
        self, kernel_id: str, config: CodeInterpreter, hooks: RunHooks | None = None
    ) -> tuple[Any, Any]:
        from .loop import Interpreter

        executor = self.kernel_clients.checkout(kernel_id)
        try:
            return Interpreter(config, executor, client=self._get_client(), hooks=hooks), executor
        except BaseException:
            self.kernel_clients.release(kernel_id, executor)
            raise

    async def _drive(self, run: LiveRun, executor: Any) -> None:
        """Run the engine, then record the outcome; whatever happens, the run ends and its log is closed."""
        try:
            messages = self.store.thread_messages(run.thread_id)
            earlier = [r for r in self.store.runs_of_thread(run.thread_id) if r["run_id"] != run.run_id]
            context = ""
            if messages and earlier and earlier[-1]["kernel_id"] != run.kernel_id:
                context = (
                    "(Note: this turn runs on a different kernel than the previous one, so variables, imports and "
                    "other state from earlier turns are gone; recreate what you need.)"
                )
            run.preparing = True  # as stored, while the kernel is asked for its folder (before run_started)
            await run.interp.run(
                run.prompt,
                messages=messages,
                record=lambda event, added: self._on_event(run, event, added),
                run_id=run.run_id,
                thread_id=run.thread_id,
                # The kernel's own folder, as it says: a gateway's kernels run on other machines.
                workdir=await executor.working_directory(),
                start_seq=0,
                context=context,
                files=run.files,
            )
        except StoreFailure as failure:  # the thread's history could not be read
            run.store_failure = failure
            self._close_log(run, "failed", f"{STORE_FAILED_REASON} {failure.message}")
        except asyncio.CancelledError:
            # Cancelled outright (shutdown, or the engine did not stop in time); the engine has usually
            # recorded the end already, and otherwise _close_log does.
            pass
        except Exception as exc:
            self.log.exception("codeinterp: run %s crashed", run.run_id)
            self._close_log(run, "failed", f"Internal error: {type(exc).__name__}")
        finally:
            self.kernel_clients.release(run.kernel_id, executor)  # kept for the kernel's next run
        if not run.ended:
            self._close_log(run, "failed" if self._stopping else "cancelled", self._stop_reason())
        # Events and messages were stored as they came: this makes sure of the run's row and steps, and writes
        # what a failing store could not take.
        record: dict[str, Any] = {
            "status": run.status,
            "reason": run.reason,
            "answer": run.answer,
            "usage": run.usage,
            "steps": run.steps(),
        }
        try:
            self.store.finish_run(
                run.run_id, **record, events=run.events[run.stored_seq :], messages=run.unstored_messages
            )
            run.unstored_messages = []
            run.stored_seq = run.last_seq
        except StoreFailure as failure:
            # Kept in memory (and served from there) until the store takes it.
            self.log.error("codeinterp: the end of run %s is not recorded yet: %s", run.run_id, failure.message)
            run.record = record
            self._keep_catching_up()
        except Exception:
            self.log.exception("codeinterp: could not record the end of run %s", run.run_id)
        finally:
            if run.record is None:
                self._live.pop(run.run_id, None)
            if self._by_kernel.get(run.kernel_id) == run.run_id:
                del self._by_kernel[run.kernel_id]
            if self._by_thread.get(run.thread_id) == run.run_id:
                del self._by_thread[run.thread_id]
            run.done.set()
        self.log.info("codeinterp: run %s ended %s %s", run.run_id, run.status, run.reason)

    def _stop_reason(self) -> str:
        return SHUTDOWN_REASON if self._stopping else "Cancelled by the user."

    def _close_log(self, run: LiveRun, status: str, reason: str) -> None:
        """End a run's event log when the engine could not (it crashed, or never started), so followers are never
        left waiting. Otherwise the engine ends its runs: ``interp.cancel(status, reason)`` says how."""
        if run.ended:
            return
        end = run_ended(
            run.run_id,
            run.last_seq + 1,
            status=status,
            reason=reason,
            answer="",
            usage=run.state.usage,
            steps=len(run.state.steps),
        )
        self._on_event(run, end)

    def _scrub(self, value: T) -> T:
        """``value`` with the API key replaced: the engine scrubs what it emits; prompts and stored messages too."""
        for secret in self.connection.secrets() or [""]:  # key-like tokens are scrubbed even with no key
            value = scrub(value, secret)
        return value

    def _on_event(self, run: LiveRun, event: dict[str, Any], messages: list[dict[str, Any]] | None = None) -> None:
        """The engine's record sink: store the event with the messages appended since the last one (one
        transaction), apply it to the live view, wake followers. Never raises."""
        if run.ended:
            return  # nothing follows run_ended
        event = self._scrub(event)
        messages = self._scrub(messages or [])
        if event.get("seq") != run.last_seq + 1:
            self.log.error("codeinterp: run %s event out of order: %s", run.run_id, event.get("seq"))
            event = {**event, "seq": run.last_seq + 1}
        if run.store_failure is None:
            try:
                self.store.append_event(event, messages)  # with the step, when it completes one
            except StoreFailure as failure:
                run.store_failure = failure
                run.unstored_messages.extend(messages)
                self.log.error("codeinterp: run %s can no longer be recorded: %s", run.run_id, failure.message)
            except Exception:
                self.log.exception("codeinterp: could not store event %s of run %s", event.get("seq"), run.run_id)
                run.stored_seq = event["seq"]  # lost, not retried
            else:
                run.stored_seq = event["seq"]
        else:
            run.unstored_messages.extend(messages)
        run.add(event)
        if run.store_failure is not None and not run.ended and not run.stopping:
            # Stop the run, saying why (its followers see the end); what it did so far is written with its end
            # once the store can be written again.
            run.stopping = True
            reason = f"{STORE_FAILED_REASON} {run.store_failure.message}"
            if run.interp is not None:
                run.interp.cancel("failed", reason)
            else:
                self._close_log(run, "failed", reason)

    async def cancel(self, run_id: str) -> dict[str, Any]:
        """Stop a run: abort the model stream and interrupt the kernel. Returns the run once it has ended.

        Cancelling a run that has already ended changes nothing and returns it as it is.
        """
        run = self._live.get(run_id)
        if run is None:
            return self.get_run(run_id)
        if run.interp is not None:
            run.interp.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(run.done.wait()), CANCEL_GRACE)
        except asyncio.TimeoutError:
            self.log.warning("codeinterp: run %s did not stop in %.1f s; cancelling its task", run_id, CANCEL_GRACE)
            if run.task is not None:
                run.task.cancel()
            await asyncio.wait_for(asyncio.shield(run.done.wait()), SHUTDOWN_GRACE)
        return self.get_run(run_id)
