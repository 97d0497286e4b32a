"""HTTP handlers of the OpenAI-compatible facade under ``/codeinterp/v1``: parse, call a service, write JSON.

Authenticated by the Jupyter token, which the ``openai`` SDK sends as ``Authorization: Bearer <api_key>``, and
authorized against the ``codeinterp`` resource like every other route of the extension. Every error, the server's
own included (no token, an unknown route), is in OpenAI's shape.
"""

from __future__ import annotations

import functools
import inspect
import json
import mimetypes
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from ..handlers import AUTH_RESOURCE
from ..validation import ServiceError, max_body_bytes, parse_json_body
from .errors import OpenAIError, bad_request
from .objects import parse_page_args
from .params import parse_request
from .service import Facade, LazyFacade

F = TypeVar("F", bound=Callable[..., Any])


def openai_errors(method: F) -> F:
    @functools.wraps(method)
    async def wrapper(self: FacadeHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            return (await result) if inspect.isawaitable(result) else result
        except OpenAIError as err:
            self.fail(err)
        except ServiceError as err:
            self.fail(OpenAIError(err.status, err.message))

    return wrapper  # type: ignore[return-value]


class FacadeHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def facade(self) -> Facade:
        """The facade's services; a 503 (in OpenAI's shape) while its data folder cannot be opened."""
        holder: LazyFacade = self.settings["codeinterp_facade"]
        return holder.get()

    @property
    def api_base(self) -> str:
        """This API's absolute URL, for the URLs it gives out (image outputs)."""
        return f"{self.request.protocol}://{self.request.host}{self.base_url.rstrip('/')}/codeinterp/v1"

    def fail(self, err: OpenAIError) -> None:
        self.clear_header("Content-Type")
        self.set_status(err.status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(err.body()))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The server's own refusals (no token, a body too large, a crash) in OpenAI's shape too."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code == 403 and not self.current_user:
            status_code, message, code = (
                401,
                "A Jupyter token is required: api_key=<token> (sent as a Bearer).",
                "invalid_api_key",
            )
        elif isinstance(exc, web.HTTPError) and exc.log_message:
            message, code = exc.log_message % exc.args if exc.args else exc.log_message, None
        else:
            message, code = self._reason, None
        self.set_status(status_code)
        kind = "server_error" if status_code >= 500 else "invalid_request_error"
        self.finish(json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}))

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def json_body(self) -> Any:
        try:
            return parse_json_body(self.request.body or b"", max_body_bytes(self.facade.max_prompt_chars))
        except ServiceError as err:
            raise OpenAIError(err.status, f"The body is not usable JSON: {err.message}") from None

    def page_args(self) -> dict[str, Any]:
        return parse_page_args(lambda name: self.get_query_argument(name, None))

    def upload(self) -> tuple[str, bytes]:
        """The multipart ``file`` part: its name and bytes."""
        parts = self.request.files.get("file")
        if not parts:
            raise bad_request("Send the file as the multipart form field 'file'.", "file")
        return parts[0]["filename"], parts[0]["body"]

    async def send_events(self, events: AsyncIterator[tuple[str, Any]], done: bool = False) -> None:
        """Server-sent events, ``event: NAME`` then ``data: JSON``, flushed one by one (``done``: the Assistants
        stream's closing ``[DONE]``). A client that goes away stops nothing: the run goes on and is kept."""
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        try:
            async for name, data in events:
                self.write(f"event: {name}\ndata: {json.dumps(data)}\n\n")
                await self.flush()
            if done:
                self.write("event: done\ndata: [DONE]\n\n")
        except StreamClosedError:
            return
        self.finish(set_content_type="text/event-stream")

    async def send_file(self, path: str, filename: str) -> None:
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.set_header("Content-Type", mime)
        self.set_header("Content-Length", str(os.path.getsize(path)))
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type=mime)


class FilesHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self) -> None:
        self.reply(self.facade.files.page(self.get_query_argument("purpose", None), **self.page_args()))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self) -> None:
        name, data = self.upload()
        purpose = self.get_body_argument("purpose", None)
        self.reply(self.facade.files.create(name, data, purpose))


class FileHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, file_id: str) -> None:
        self.reply(self.facade.files.get(file_id))

    @web.authenticated
    @authorized
    @openai_errors
    def delete(self, file_id: str) -> None:
        self.reply(self.facade.files.delete(file_id))


class FileContentHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    async def get(self, file_id: str) -> None:
        record = self.facade.files.get(file_id)
        await self.send_file(self.facade.files.content_path(file_id), record["filename"])


class ContainersHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self) -> None:
        self.reply(self.facade.containers.page(**self.page_args()))

    @web.authenticated
    @authorized
    @openai_errors
    async def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object with a 'name'.")
        self.reply(await self.facade.containers.create(body))


class ContainerHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, container_id: str) -> None:
        self.reply(self.facade.containers.get(container_id))

    @web.authenticated
    @authorized
    @openai_errors
    async def delete(self, container_id: str) -> None:
        self.reply(await self.facade.containers.delete(container_id))


class ContainerFilesHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, container_id: str) -> None:
        self.reply(self.facade.containers.list_files(container_id, **self.page_args()))

    @web.authenticated
    @authorized
    @openai_errors
    def post(self, container_id: str) -> None:
        if self.request.files:
            name, data = self.upload()
            self.reply(self.facade.containers.add_upload(container_id, name, data))
            return
        body = self.json_body()
        file_id = body.get("file_id") if isinstance(body, dict) else None
        if not isinstance(file_id, str) or not file_id:
            raise bad_request('Send a multipart \'file\', or JSON {"file_id": "file-..."}.', "file_id")
        self.reply(self.facade.containers.add_file(container_id, file_id))


class ContainerFileHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, container_id: str, file_id: str) -> None:
        self.reply(self.facade.containers.get_file(container_id, file_id))

    @web.authenticated
    @authorized
    @openai_errors
    def delete(self, container_id: str, file_id: str) -> None:
        self.reply(self.facade.containers.delete_file(container_id, file_id))


class ContainerFileContentHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    async def get(self, container_id: str, file_id: str) -> None:
        path = self.facade.containers.file_path(container_id, file_id)
        await self.send_file(path, os.path.basename(path))


class ResponsesHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    async def post(self) -> None:
        req = parse_request(self.json_body(), self.facade.max_prompt_chars)
        responses = self.facade.responses
        record = await responses.create(req)
        if req.background:
            self.reply(responses.get(record["id"], self.api_base))
        elif not req.stream:
            self.reply(await responses.wait(record, self.api_base))
        else:
            await self.send_events((e["type"], e) async for e in responses.stream(record, self.api_base))


class ResponseHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, response_id: str) -> None:
        self.reply(self.facade.responses.get(response_id, self.api_base))

    @web.authenticated
    @authorized
    @openai_errors
    def delete(self, response_id: str) -> None:
        self.reply(self.facade.responses.delete(response_id))


class ResponseCancelHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    async def post(self, response_id: str) -> None:
        self.reply(await self.facade.responses.cancel(response_id, self.api_base))


class ResponseImageHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def get(self, response_id: str, step: str, n: str) -> None:
        mime, data = self.facade.responses.image(response_id, int(step), int(n))
        self.finish(data, set_content_type=mime)


class UnknownRouteHandler(FacadeHandler):
    @web.authenticated
    @authorized
    @openai_errors
    def prepare_unknown(self) -> None:
        raise OpenAIError(
            404,
            f"This server does not serve {self.request.method} {self.request.path} (docs/openai-api.md lists "
            "what it does).",
            code="unknown_route",
        )

    get = post = delete = put = patch = prepare_unknown  # type: ignore[assignment]


V1 = "/codeinterp/v1"
IDENT = r"([A-Za-z0-9_.-]+)"


def facade_routes() -> list[tuple[str, type[FacadeHandler]]]:
    """Files, Containers and Responses (the Assistants routes are ``handlers_assistants.py``)."""
    ident, v1 = IDENT, V1
    return [
        (f"{v1}/files", FilesHandler),
        (f"{v1}/files/{ident}", FileHandler),
        (f"{v1}/files/{ident}/content", FileContentHandler),
        (f"{v1}/containers", ContainersHandler),
        (f"{v1}/containers/{ident}", ContainerHandler),
        (f"{v1}/containers/{ident}/files", ContainerFilesHandler),
        (f"{v1}/containers/{ident}/files/{ident}", ContainerFileHandler),
        (f"{v1}/containers/{ident}/files/{ident}/content", ContainerFileContentHandler),
        (f"{v1}/responses", ResponsesHandler),
        (f"{v1}/responses/{ident}", ResponseHandler),
        (f"{v1}/responses/{ident}/cancel", ResponseCancelHandler),
        (f"{v1}/responses/{ident}/images/([0-9]+)/([0-9]+)", ResponseImageHandler),
    ]
