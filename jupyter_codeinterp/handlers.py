"""HTTP and websocket handlers under ``/codeinterp``: parse, authorize, call the run service, write JSON.

Every method is authenticated (``@web.authenticated`` / ``@ws_authenticated``) and authorized against the
resource ``codeinterp``, so the server refuses to start with one missing when unauthenticated access is off.
The contract is ``docs/api.md``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web, websocket

from .runs import RunService
from .store_errors import StoreFailure
from .validation import (
    ServiceError,
    max_body_bytes,
    parse_after,
    parse_approval_request,
    parse_json_body,
    parse_since,
    parse_start_request,
    store_refusal,
)

AUTH_RESOURCE = "codeinterp"

F = TypeVar("F", bound=Callable[..., Any])


class ApiError(web.HTTPError):
    """An HTTP error whose JSON body carries extra fields (e.g. the active run's id on a 409)."""

    def __init__(self, err: ServiceError) -> None:
        super().__init__(err.status, "%s", err.message)
        self.message = err.message
        self.extra = err.extra


class ServiceAccess:
    """The run service the extension built, for handlers of any kind."""

    settings: dict[str, Any]

    @property
    def service(self) -> RunService:
        service: RunService = self.settings["codeinterp_service"]
        return service


class BaseHandler(ServiceAccess, APIHandler):
    auth_resource = AUTH_RESOURCE

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message, "reason": exc.reason, **exc.extra}))
            return
        super().write_error(status_code, **kwargs)

    def json_body(self) -> Any:
        """The request body as JSON, parsed with bounded size and depth: bad bodies are a 400 or 413, never a 500."""
        return parse_json_body(self.request.body or b"", max_body_bytes(self.service.max_prompt_chars))

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body))


def service_errors(method: F) -> F:
    """Turn the run service's refusals (404, 409, ...) and a store that cannot be used (507, 503) into JSON
    HTTP errors."""

    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            return (await result) if inspect.isawaitable(result) else result
        except ServiceError as err:
            raise ApiError(err) from None
        except StoreFailure as failure:
            raise ApiError(store_refusal(failure)) from None

    return wrapper  # type: ignore[return-value]


class ConfigHandler(BaseHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        self.reply(self.service.public_config())


class ModelsHandler(BaseHandler):
    @web.authenticated
    @authorized
    @service_errors
    async def get(self) -> None:
        self.reply(await self.service.list_models())


class RunsHandler(BaseHandler):
    @web.authenticated
    @authorized
    @service_errors
    def get(self) -> None:
        since = self.get_query_argument("since", None)
        self.reply(
            self.service.recent_runs(
                self.get_query_argument("notebook_path", None),
                self.get_query_argument("kernel_id", None),
                parse_since(since) if since is not None else None,
            )
        )

    @web.authenticated
    @authorized
    @service_errors
    def post(self) -> None:
        req = parse_start_request(self.json_body(), self.service.max_prompt_chars)
        self.reply(self.service.start(req), status=201)


class RunHandler(BaseHandler):
    @web.authenticated
    @authorized
    @service_errors
    def get(self, run_id: str) -> None:
        self.reply(self.service.get_run(run_id))


class CancelHandler(BaseHandler):
    @web.authenticated
    @authorized
    @service_errors
    async def post(self, run_id: str) -> None:
        self.reply(await self.service.cancel(run_id))


class ApprovalHandler(BaseHandler):
    """A decision for the step a run is paused before (approval mode ``ask``): 409 when it is not pending."""

    @web.authenticated
    @authorized
    @service_errors
    async def post(self, run_id: str) -> None:
        req = parse_approval_request(self.json_body(), self.service.max_prompt_chars)
        user = self.current_user
        by = str(getattr(user, "display_name", "") or getattr(user, "username", "") or "")
        self.reply(await self.service.decide(run_id, req, by=by))


class ThreadsHandler(BaseHandler):
    @web.authenticated
    @authorized
    @service_errors
    def get(self) -> None:
        threads = self.service.list_threads(self.get_query_argument("notebook_path", None))
        self.reply({"threads": threads})


class ThreadHandler(BaseHandler):
    @web.authenticated
    @authorized
    @service_errors
    def get(self, thread_id: str) -> None:
        self.reply(self.service.get_thread(thread_id))


class EventsSocket(ServiceAccess, WebSocketMixin, websocket.WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    """A run's events: every stored one after ``?after=SEQ``, then live ones; closed (1000) after run_ended.

    Each connection reads the run's log through its own cursor and awaits its own writes, so a slow client
    only falls behind itself: the run and the other clients never wait for it.
    """

    auth_resource = AUTH_RESOURCE

    def initialize(self) -> None:
        self._pump: asyncio.Task[None] | None = None
        self._run_id = ""
        self._after = 0

    def set_default_headers(self) -> None:
        """JupyterHandler's default headers make no sense for a websocket."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Refused before the upgrade: answer JSON like the other routes.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            message = exc.message
        elif isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "reason": None}))

    @ws_authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        try:
            self._after = parse_after(self.get_query_argument("after", None))
            self.service.check_run(run_id)
        except ServiceError as err:
            raise ApiError(err) from None
        except StoreFailure as failure:
            raise ApiError(store_refusal(failure)) from None
        self._run_id = run_id
        result = super().get(run_id)
        if result is not None:
            await result

    def open(self, *args: Any, **kwargs: Any) -> None:
        # Nagle's algorithm added ~40 ms per small message here.
        self.set_nodelay(True)
        super().open(*args, **kwargs)
        self._pump = asyncio.ensure_future(self._send_events())

    async def _send_events(self) -> None:
        try:
            async for event in self.service.follow(self._run_id, self._after):
                await self.write_message(json.dumps(event))
            self.close(1000, "run ended")
        except websocket.WebSocketClosedError:
            pass
        except asyncio.CancelledError:
            raise
        except StoreFailure as failure:  # an ended run's log could not be read
            self.log.warning("codeinterp: event stream of run %s: %s", self._run_id, failure.message)
            self.close(1011, "the run store cannot be read")
        except Exception:
            self.log.exception("codeinterp: event stream of run %s failed", self._run_id)
            self.close(1011, "internal error")

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen; anything they send is ignored."""

    def on_close(self) -> None:
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()


_RUN = r"(?P<run_id>[A-Za-z0-9_.-]+)"
_THREAD = r"(?P<thread_id>[A-Za-z0-9_.-]+)"


def routes() -> list[tuple[str, type[web.RequestHandler]]]:
    """URL patterns relative to the server's base URL."""
    return [
        (r"/codeinterp/config/?", ConfigHandler),
        (r"/codeinterp/models/?", ModelsHandler),
        (r"/codeinterp/runs/?", RunsHandler),
        (rf"/codeinterp/runs/{_RUN}/?", RunHandler),
        (rf"/codeinterp/runs/{_RUN}/cancel/?", CancelHandler),
        (rf"/codeinterp/runs/{_RUN}/approval/?", ApprovalHandler),
        (rf"/codeinterp/runs/{_RUN}/events/?", EventsSocket),
        (r"/codeinterp/threads/?", ThreadsHandler),
        (rf"/codeinterp/threads/{_THREAD}/?", ThreadHandler),
    ]
