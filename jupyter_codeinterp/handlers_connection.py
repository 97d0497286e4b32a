"""Handlers of ``/codeinterp/connection``: the model connection a user sets from the sidebar (see connection.py).

Authenticated and authorized like every route (resource ``codeinterp``); POST and DELETE are XSRF-checked by
jupyter_server for cookie sessions. No request body is ever logged: it may hold the key.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .connection import Connection
from .handlers import BaseHandler, service_errors


class ConnectionBase(BaseHandler):
    @property
    def connection(self) -> Connection:
        return self.service.connection


class ConnectionHandler(ConnectionBase):
    @web.authenticated
    @authorized
    def get(self) -> None:
        self.reply(self.connection.public())

    @web.authenticated
    @authorized
    @service_errors
    def post(self) -> None:
        self.reply(self.connection.connect(self.json_body()))

    @web.authenticated
    @authorized
    @service_errors
    def delete(self) -> None:
        self.reply(self.connection.forget())


class ConnectionTestHandler(ConnectionBase):
    @web.authenticated
    @authorized
    @service_errors
    async def post(self) -> None:
        config = self.connection.candidate(self.json_body())
        self.reply(await self.connection.probe(config))


def connection_routes() -> list[tuple[str, type[web.RequestHandler]]]:
    return [
        (r"/codeinterp/connection/?", ConnectionHandler),
        (r"/codeinterp/connection/test/?", ConnectionTestHandler),
    ]
