"""A scripted OpenAI-compatible chat-completions server on loopback: the one stand-in in our tests.

The real ``openai`` client talks to it over HTTP. Each ``POST /v1/chat/completions`` consumes the next scripted
reply, streamed as server-sent events the way real servers stream (tool-call arguments in small chunks)::

    with ScriptedLLM() as llm:                       # or ScriptedLLM(api_key="sk-test") to demand a key
        llm.script(code("print(1 + 1)"), answer("It is **2**."))
        ... point the client at llm.url (http://127.0.0.1:PORT/v1) ...
        llm.requests[1]["messages"][-1]              # what the model was sent

A reply is a dict made by one of the helpers below, or a callable ``(request_body) -> reply dict`` for replies
that depend on what the model was sent. When the script runs out the server answers 400 with a clear message.

Streams that do not finish, the way endpoints die mid-answer::

    answer("The answer is 42.", finish="length")     # stopped at the output token limit
    answer("The answer is 42.", finish=None)         # [DONE] but never a finish reason
    cut(answer("The answer is 42."), at=13)          # the body ends cleanly after 13 characters: no finish, no [DONE]
    cut(code("print(1)"), at=10, how="close")        # the connection closes mid-body (an incomplete chunked read)
    cut(code("print(1)"), how="reset")               # the TCP connection is reset (RST) half way

Run it standalone (for the browser tests, demos and manual CLI runs)::

    python tests/scripted_llm.py --port 8765 --script replies.json     # a JSON list of reply dicts
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any]
ScriptItem = Reply | Callable[[dict[str, Any]], Reply]


# -- reply helpers ------------------------------------------------------------------------------------


def code(
    source: str,
    *,
    text: str = "",
    chunk: int = 12,
    delay: float = 0.0,
    name: str = "python",
    usage: bool = True,
    finish: str | None = "tool_calls",
) -> Reply:
    """A tool call ``python({"code": source})``, its JSON arguments streamed ``chunk`` characters at a time.

    ``finish`` is the finish reason of the last chunk (None: a last chunk without one)."""
    return {
        "kind": "tool_call",
        "name": name,
        "arguments": json.dumps({"code": source}),
        "text": text,
        "chunk": chunk,
        "delay": delay,
        "usage": usage,
        "finish": finish,
    }


def raw_tool_call(arguments: str, *, name: str = "python", chunk: int = 12) -> Reply:
    """A tool call with arguments exactly as given (e.g. malformed JSON)."""
    return {
        "kind": "tool_call",
        "name": name,
        "arguments": arguments,
        "text": "",
        "chunk": chunk,
        "delay": 0.0,
    }


def answer(text: str, *, chunk: int = 8, delay: float = 0.0, usage: bool = True, finish: str | None = "stop") -> Reply:
    """Plain assistant text with no tool call: the model's final answer (or markdown-mode code).

    ``finish`` is the finish reason of the last chunk: ``"length"`` for an answer stopped at the token limit,
    None for a last chunk without one."""
    return {"kind": "text", "text": text, "chunk": chunk, "delay": delay, "usage": usage, "finish": finish}


CUT_MODES = ("end", "close", "reset")


def cut(reply: Reply, *, at: int | None = None, how: str = "end") -> Reply:
    """``reply`` (an ``answer`` or a ``code``) cut off after ``at`` characters of its content: its text, then its
    tool call's arguments (the call itself starts once ``at`` reaches the end of the text). Default: half way.

    ``how``: ``"end"`` ends the response body cleanly with no finish reason, usage or [DONE] (a proxy giving up, a
    server stopping gracefully: the client sees a normal end of stream); ``"close"`` closes the connection mid-body;
    ``"reset"`` resets the TCP connection."""
    if how not in CUT_MODES:
        raise ValueError(f"how must be one of {CUT_MODES}, not {how!r}")
    size = len(reply.get("text", "")) + len(reply.get("arguments", "") if reply["kind"] == "tool_call" else "")
    return {**reply, "cut_at": size // 2 if at is None else at, "cut": how}


def markdown_code(source: str, prose: str = "Let me run this.") -> Reply:
    """A reply for models without tool calling: prose and a ```python block."""
    return answer(f"{prose}\n```python\n{source}\n```\n", chunk=5)


def error(status: int, message: str = "scripted error", *, headers: dict[str, str] | None = None) -> Reply:
    """An HTTP error response (e.g. 401, 429 with Retry-After, 500)."""
    return {"kind": "error", "status": status, "message": message, "headers": headers or {}}


def hang(seconds: float = 30.0, *, text: str = "Thinking", keepalive: bool = True) -> Reply:
    """Start streaming, then stall (to test cancelling during model streaming). With ``keepalive`` the stall sends
    empty chunks; without, nothing at all (a client's read timeout fires mid-stream)."""
    return {"kind": "hang", "text": text, "seconds": seconds, "keepalive": keepalive}


def drop(after_text: str = "Partial") -> Reply:
    """Stream a little, then close the connection without finishing the stream."""
    return {"kind": "drop", "text": after_text}


# -- the server ---------------------------------------------------------------------------------------


class ScriptedLLM:
    def __init__(self, *, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # lower-cased names
        self._script: list[ScriptItem] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.models = ["scripted-model"]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def root_url(self) -> str:
        """The URL without ``/v1``: clients must accept it too."""
        return self.url[: -len("/v1")]

    def script(self, *items: ScriptItem) -> ScriptedLLM:
        with self._lock:
            self._script.extend(items)
        return self

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script)

    def start(self) -> ScriptedLLM:
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, body: dict[str, Any]) -> Reply | None:
        with self._lock:
            if not self._script:
                return None
            item = self._script.pop(0)
        return item(body) if callable(item) else item

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if llm.api_key is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {llm.api_key}":
                    return True
                self._json(
                    401,
                    {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}},
                )
                return False

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path.rstrip("/") == "/v1/models":
                    data = [{"id": m, "object": "model", "owned_by": "scripted"} for m in llm.models]
                    self._json(200, {"object": "list", "data": data})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw or b"{}")
                llm.requests.append(body)
                llm.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self._authorized():
                    return
                reply = llm._next(body)
                if reply is None:
                    self._json(400, {"error": {"message": "scripted model: the script has no reply left"}})
                    return
                if reply["kind"] == "error":
                    err = {"message": reply["message"], "type": "scripted", "code": reply["status"]}
                    self._json(reply["status"], {"error": err}, reply["headers"])
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client left (cancel)
                    self._stream(body, reply)

            # -- streaming --

            def _start_stream(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def _send(self, payload: str) -> None:
                data = f"data: {payload}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _chunk(self, body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> None:
                self._payload(body, [{"index": 0, "delta": delta, "finish_reason": finish}])

            def _payload(self, body: dict[str, Any], choices: list[Any], **extra: Any) -> None:
                chunk = {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "scripted-model"),
                    "choices": choices,
                    **extra,
                }
                self._send(json.dumps(chunk))

            def _end(self, body: dict[str, Any], reply: Reply, finish: str | None, completion_chars: int) -> None:
                self._chunk(body, {}, finish)
                wants_usage = (body.get("stream_options") or {}).get("include_usage")
                if wants_usage and reply.get("usage", True):
                    prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
                    completion_tokens = max(1, completion_chars // 4)
                    usage = {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    }
                    self._payload(body, [], usage=usage)
                self._send("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _pieces(self, text: str, size: int) -> list[str]:
                size = max(1, size)
                return [text[i : i + size] for i in range(0, len(text), size)]

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self._id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
                self._start_stream()
                self._chunk(body, {"role": "assistant", "content": ""})
                kind = reply["kind"]
                delay = reply.get("delay", 0.0)
                if kind in ("hang", "drop"):
                    self._chunk(body, {"content": reply["text"]})
                    if kind == "drop":
                        self._cut("close")
                        return
                    deadline = time.monotonic() + reply["seconds"]
                    while time.monotonic() < deadline and not llm._stopping.is_set():
                        time.sleep(0.05)
                        if reply.get("keepalive", True):
                            self._chunk(body, {"content": ""})  # keep-alive; fails once the client is gone
                    self._end(body, reply, "stop", len(reply["text"]))
                    return
                text = reply.get("text", "")
                arguments = reply.get("arguments", "") if kind == "tool_call" else ""
                cut_at = reply.get("cut_at")
                budget = len(text) + len(arguments) if cut_at is None else cut_at
                for piece in self._pieces(text[:budget], reply.get("chunk", 8)):
                    self._chunk(body, {"content": piece})
                    if delay:
                        time.sleep(delay)
                if kind == "tool_call" and budget >= len(text):
                    self._tool_call(body, reply, arguments[: budget - len(text)], delay)
                if cut_at is not None:
                    self._cut(reply.get("cut", "end"))
                    return
                default = "stop" if kind == "text" else "tool_calls"
                self._end(body, reply, reply.get("finish", default), len(text) + len(arguments))

            def _tool_call(self, body: dict[str, Any], reply: Reply, arguments: str, delay: float) -> None:
                call_id = f"call_{uuid.uuid4().hex[:10]}"
                self._chunk(
                    body,
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": reply["name"], "arguments": ""},
                            }
                        ]
                    },
                )
                for piece in self._pieces(arguments, reply["chunk"]):
                    self._chunk(body, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                    if delay:
                        time.sleep(delay)

            def _cut(self, how: str) -> None:
                """Stop the stream before its finish: end the body cleanly, close the connection, or reset it."""
                if how == "end":
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                self.close_connection = True
                self.wfile.flush()
                if how == "close":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                # An RST, not a FIN: linger 0, and close every reference to the socket (rfile holds one).
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()
                self.connection.close()

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a scripted OpenAI-compatible model on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", help="JSON file: a list of reply dicts (see the helpers in this module)")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    llm = ScriptedLLM(api_key=args.api_key, port=args.port)
    if args.script:
        with open(args.script) as f:
            llm.script(*json.load(f))
    llm.start()
    print(llm.url, flush=True)
    try:
        while llm._thread is not None and llm._thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        llm.stop()


if __name__ == "__main__":
    main()
