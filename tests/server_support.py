"""Fixtures and helpers for the server-extension tests: a real Jupyter server with our extension, real kernels
(started through the server's own REST API), the scripted model, and small clients for the API and the stream.

Import the fixtures into a test module (``from tests.server_support import *``) to override conftest's
``jp_server_config`` with one that points the extension at the scripted model and a per-test store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sqlite3
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.websocket import websocket_connect

from jupyter_codeinterp.store import Store
from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM

__all__ = [
    "TEST_KEY",
    "Api",
    "StalledSocket",
    "api",
    "assert_intact",
    "assert_valid_history",
    "jp_server_config",
    "kernel_id",
    "read_events",
    "read_until",
    "store_path",
]

FINAL = ("completed", "failed", "cancelled")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "codeinterp.sqlite"


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, store_path: Path) -> dict[str, Any]:
    return server_config(llm, store_path)


def server_config(llm: ScriptedLLM, store_path: Path) -> dict[str, Any]:
    """Our extension, no unauthenticated access, the scripted model, and a store of this test's own."""
    return {
        "ServerApp": {
            # Terminals off: pytest-jupyter turns them on, and their socket trips JupyterServerAuthWarning.
            "jpserver_extensions": {"jupyter_codeinterp": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "CodeInterpreterApp": {"db_path": str(store_path), "max_prompt_chars": 5000},
        "CodeInterpreter": {
            "model": "scripted-model",
            "base_url": llm.url,
            "api_key": TEST_KEY,
            "max_retries": 0,
            "request_timeout": 20.0,
        },
    }


class Api:
    """JSON calls to the server that return ``(status, body)`` instead of raising on 4xx."""

    def __init__(
        self,
        fetch: Callable[..., Awaitable[HTTPResponse]],
        ws_fetch: Callable[..., Any],
        server: Any = None,
        auth: dict[str, str] | None = None,
        base_url: str = "/",
    ) -> None:
        self._fetch = fetch
        self._ws_fetch = ws_fetch
        self._server = server
        self._auth = auth or {}
        self._base = base_url.rstrip("/")
        #: Every response body seen, for the key-leak scan.
        self.bodies: list[str] = []

    async def call(self, method: str, *path: str, body: Any = None, raw: bytes | None = None, **kw: Any) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        response = await self._fetch(*path, method=method, body=data, raise_error=False, **kw)
        text = response.body.decode() if response.body else ""
        self.bodies.append(text)
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return response.code, payload

    async def raw(self, method: str, target: str, body: bytes | None = None) -> tuple[int, Any]:
        """A request to ``target`` exactly as written (path and query, percent-encoding and all), not escaped."""
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        response = await self._server.fetch(
            self._base + target,
            method=method,
            body=body,
            headers=dict(self._auth),
            raise_error=False,
            follow_redirects=False,
        )
        text = response.body.decode(errors="replace") if response.body else ""
        try:
            return response.code, json.loads(text) if text else None
        except ValueError:
            return response.code, text

    async def raw_events(self, target: str) -> Any:
        """The events websocket at ``target`` (path and query as written); raises HTTPClientError if refused."""
        url = f"ws://127.0.0.1:{self._server.get_http_port()}{self._base}{target}"
        return await websocket_connect(HTTPRequest(url, headers=dict(self._auth)))

    async def get(self, *path: str, **kw: Any) -> Any:
        return await self.call("GET", *path, **kw)

    async def post(self, *path: str, body: Any = None, **kw: Any) -> Any:
        return await self.call("POST", *path, body=body, **kw)

    async def start(self, kernel_id: str, prompt: str, **fields: Any) -> dict[str, Any]:
        code, body = await self.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": prompt, **fields})
        assert code == 201, body
        return dict(body)

    async def run(self, run_id: str) -> dict[str, Any]:
        code, body = await self.get("codeinterp", "runs", run_id)
        assert code == 200, body
        return dict(body)

    async def wait(self, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll until the run has ended; return it."""
        deadline = time.monotonic() + timeout
        while True:
            run = await self.run(run_id)
            if run["status"] in FINAL:
                return run
            assert time.monotonic() < deadline, f"run still {run['status']} after {timeout} s"
            await asyncio.sleep(0.05)

    async def events(self, run_id: str, after: int | str | None = None) -> Any:
        params = {"after": str(after)} if after is not None else None
        return await self._ws_fetch("codeinterp", "runs", run_id, "events", params=params)

    async def all_events(self, run_id: str, after: int | None = None) -> list[dict[str, Any]]:
        ws = await self.events(run_id, after)
        try:
            events = await read_events(ws)
        finally:
            ws.close()
        self.bodies.extend(json.dumps(e) for e in events)
        return events

    async def new_kernel(self) -> str:
        code, body = await self.post("api", "kernels", body={"name": "python3"})
        assert code == 201, body
        return str(body["id"])


@pytest.fixture
def api(jp_fetch: Any, jp_ws_fetch: Any, http_server_client: Any, jp_auth_header: Any, jp_base_url: str) -> Api:
    return Api(jp_fetch, jp_ws_fetch, http_server_client, jp_auth_header, jp_base_url)


@pytest.fixture
def kernel_id(api: Api, jp_asyncio_loop: asyncio.AbstractEventLoop) -> str:
    """A real python3 kernel started by the server (POST /api/kernels, no path: its cwd is the server process's)."""
    return jp_asyncio_loop.run_until_complete(api.new_kernel())


class StalledSocket:
    """A websocket client with a small (128 KB) receive buffer that reads nothing until told: the slowest client.

    Raw on purpose: tornado's client keeps reading into its own queue, and loopback buffers grow to megabytes.
    """

    def __init__(self, port: int, path: str, token: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 17)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: token {token}\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(1)
        assert self.buffer.startswith(b"HTTP/1.1 101"), self.buffer
        self.buffer = b""

    def available(self) -> int:
        """Bytes received so far, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buffer += chunk
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return len(self.buffer)

    def read(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The next ``count`` events (fewer if the server closes the stream first)."""
        self.sock.settimeout(timeout)
        events: list[dict[str, Any]] = []
        while len(events) < count and (frame := self._frame()) is not None:
            events.append(json.loads(frame))
        return events

    def drop(self) -> None:
        """Vanish without a close frame: reset the TCP connection (a laptop lid shut, a network gone)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def read_all(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Read until the server's close frame; return the events (text frames)."""
        self.sock.settimeout(timeout)
        events: list[dict[str, Any]] = []
        while True:
            frame = self._frame()
            if frame is None:
                return events
            events.append(json.loads(frame))

    def _need(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed mid-frame"
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _frame(self) -> str | None:
        while True:
            head = self._need(2)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(self._need(2), "big")
            elif length == 127:
                length = int.from_bytes(self._need(8), "big")
            payload = self._need(length)
            if opcode == 0x8:
                return None
            if opcode in (0x9, 0xA):  # the server's keep-alive pings (and pongs): not events
                continue
            assert opcode == 0x1, f"unexpected opcode {opcode}"
            return payload.decode()

    def close(self) -> None:
        self.sock.close()


async def read_events(ws: Any, limit: int | None = None, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Read events until the server closes the socket (or ``limit`` events have come)."""
    events: list[dict[str, Any]] = []
    while limit is None or len(events) < limit:
        message = await asyncio.wait_for(ws.read_message(), timeout)
        if message is None:
            break
        events.append(json.loads(message))
    return events


async def read_until(
    ws: Any, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Read events up to and including the first one matching ``predicate``."""
    events: list[dict[str, Any]] = []
    while True:
        message = await asyncio.wait_for(ws.read_message(), timeout)
        assert message is not None, f"stream closed before the awaited event; got {events}"
        events.append(json.loads(message))
        if predicate(events[-1]):
            return events


def assert_valid_history(messages: list[dict[str, Any]]) -> None:
    """A thread's messages as a next turn sends them: every tool call answered before anything else is said."""
    pending: list[str] = []
    for message in messages:
        if message["role"] == "tool":
            assert message["tool_call_id"] in pending, (message, pending)
            pending.remove(message["tool_call_id"])
            continue
        assert not pending, f"tool calls {pending} unanswered before {message}"
        pending = [call["id"] for call in message.get("tool_calls") or []]
    assert not pending, f"tool calls {pending} unanswered at the end"


def assert_intact(store_path: Path, run: dict[str, Any], events: list[dict[str, Any]] | None = None) -> None:
    """What a fresh process finds in the store for an ended ``run`` (as the API gave it): a sound file; the run's
    whole event log in order, ending as the run did (and equal to ``events``, what a client saw); its steps as
    the API gave them; and a thread history a next turn can be sent."""
    db = sqlite3.connect(store_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        run_id = run["run_id"]
        stored = [
            json.loads(e) for (e,) in db.execute("SELECT event FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
        ]
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1)) and stored, stored
        assert stored[-1]["type"] == "run_ended" and stored[-1]["status"] == run["status"], stored[-1]
        if events is not None:
            assert stored == events
        (status, reason, last_seq) = db.execute(
            "SELECT status, reason, last_seq FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        assert (status, reason, last_seq) == (run["status"], run["reason"], len(stored))
        # A step's outputs are kept once, in its events: the store's reader folds them back.
        reader = Store(str(store_path))
        try:
            steps = reader.steps(run_id)
        finally:
            reader.close()
        assert [(s["step"], s["code"], s["status"], s["outputs"]) for s in steps] == [
            (s["step"], s["code"], s["status"], s["outputs"]) for s in run["steps"]
        ]
        messages = [
            json.loads(m)
            for (m,) in db.execute("SELECT message FROM messages WHERE thread_id = ? ORDER BY idx", (run["thread_id"],))
        ]
        assert messages, "the run added nothing to its thread"
        assert_valid_history(messages)
    finally:
        db.close()
