"""HTTP handlers of the Assistants API v2 under ``/codeinterp/v1`` (assistants, threads, messages, runs, run
steps), thin over ``assistants.py`` and ``assistant_runs.py``; plus ``GET /threads/{id}/notebook``, the thread's
notebook record."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .errors import unsupported
from .handlers import IDENT, V1, FacadeHandler, openai_errors


class AssistantsHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self) -> None:
        self.reply(self.facade.assistants.list_assistants(**self.page_args()))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self) -> None:
        self.reply(self.facade.assistants.create_assistant(self.json_body()))


class AssistantHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, assistant_id: str) -> None:
        from .assistants import public

        self.reply(public(self.facade.assistants.assistant(assistant_id)))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self, assistant_id: str) -> None:
        self.reply(self.facade.assistants.update_assistant(assistant_id, self.json_body()))

    @web.authenticated
    @authorized
    @openai_errors
    def delete(self, assistant_id: str) -> None:
        self.reply(self.facade.assistants.delete_assistant(assistant_id))


class ThreadsHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def post(self) -> None:
        self.reply(self.facade.assistants.create_thread(self.json_body() if self.request.body else {}))


class ThreadHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str) -> None:
        from .assistants import public

        self.reply(public(self.facade.assistants.thread(thread_id)))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self, thread_id: str) -> None:
        self.reply(self.facade.assistants.update_thread(thread_id, self.json_body()))

    @web.authenticated
    @authorized
    @openai_errors
    async def delete(self, thread_id: str) -> None:
        self.reply(await self.facade.delete_thread(thread_id))


class MessagesHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str) -> None:
        self.facade.assistants.thread(thread_id)
        replies = self.facade.assistant_runs.replies(thread_id)
        run_id = self.get_query_argument("run_id", None)
        self.reply(self.facade.assistants.list_messages(replies, thread_id, run_id, **self.page_args()))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self, thread_id: str) -> None:
        self.facade.assistants.thread(thread_id)  # a 404 first for an unknown thread
        busy = self.facade.assistant_runs.busy(thread_id)
        self.reply(self.facade.assistants.add_message(thread_id, self.json_body(), busy=busy))


class MessageHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str, message_id: str) -> None:
        self.facade.assistants.thread(thread_id)
        replies = self.facade.assistant_runs.replies(thread_id)
        self.reply(self.facade.assistants.message(replies, thread_id, message_id))


class RunsHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str) -> None:
        self.reply(self.facade.assistant_runs.list_runs(thread_id, **self.page_args()))

    @web.authenticated
    @authorized
    @openai_errors
    async def post(self, thread_id: str) -> None:
        body = self.json_body()
        runs = self.facade.assistant_runs
        record = await runs.create(thread_id, body)
        if isinstance(body, dict) and body.get("stream"):
            await self.send_events(runs.stream(record), done=True)
        else:
            self.reply(runs.view(record).run())


class ThreadAndRunHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    async def post(self) -> None:
        body = self.json_body()
        runs = self.facade.assistant_runs
        thread, record = await runs.create_thread_and_run(body)
        if isinstance(body, dict) and body.get("stream"):

            async def with_thread() -> AsyncIterator[tuple[str, Any]]:
                yield "thread.created", thread
                async for event in runs.stream(record):
                    yield event

            await self.send_events(with_thread(), done=True)
        else:
            self.reply(runs.view(record).run())


class RunHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str, run_id: str) -> None:
        self.reply(self.facade.assistant_runs.retrieve(thread_id, run_id))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self, thread_id: str, run_id: str) -> None:
        self.reply(self.facade.assistant_runs.update(thread_id, run_id, self.json_body()))


class RunCancelHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    async def post(self, thread_id: str, run_id: str) -> None:
        self.reply(await self.facade.assistant_runs.cancel(thread_id, run_id))


class SubmitToolOutputsHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def post(self, thread_id: str, run_id: str) -> None:
        self.facade.assistant_runs.record(thread_id, run_id)
        raise unsupported("tool_outputs", "Runs here never require action: only code_interpreter is served.")


class StepsHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str, run_id: str) -> None:
        self.reply(self.facade.assistant_runs.steps(thread_id, run_id, **self.page_args()))


class StepHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str, run_id: str, step_id: str) -> None:
        self.reply(self.facade.assistant_runs.step(thread_id, run_id, step_id))


class ThreadNotebookHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, thread_id: str) -> None:
        with open(self.facade.assistant_runs.notebook_path(thread_id), encoding="utf-8") as f:
            self.reply(json.load(f))


def assistant_routes() -> list[tuple[str, type[FacadeHandler]]]:
    i, v1 = IDENT, V1
    return [
        (f"{v1}/assistants", AssistantsHandler),
        (f"{v1}/assistants/{i}", AssistantHandler),
        (f"{v1}/threads", ThreadsHandler),
        (f"{v1}/threads/runs", ThreadAndRunHandler),
        (f"{v1}/threads/{i}", ThreadHandler),
        (f"{v1}/threads/{i}/notebook", ThreadNotebookHandler),
        (f"{v1}/threads/{i}/messages", MessagesHandler),
        (f"{v1}/threads/{i}/messages/{i}", MessageHandler),
        (f"{v1}/threads/{i}/runs", RunsHandler),
        (f"{v1}/threads/{i}/runs/{i}", RunHandler),
        (f"{v1}/threads/{i}/runs/{i}/cancel", RunCancelHandler),
        (f"{v1}/threads/{i}/runs/{i}/submit_tool_outputs", SubmitToolOutputsHandler),
        (f"{v1}/threads/{i}/runs/{i}/steps", StepsHandler),
        (f"{v1}/threads/{i}/runs/{i}/steps/{i}", StepHandler),
    ]
