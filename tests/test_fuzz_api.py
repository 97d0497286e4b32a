"""Property-based fuzzing of every route and the events websocket on a real server: random and malformed JSON,
wrong types, huge strings, unicode edge cases (lone surrogates, NUL, bidi and zero-width characters), ids of other
runs and threads, traversal paths, odd percent-encodings. Allowed answers: 2xx and 4xx with a JSON body, in time
(never a hang); afterwards the store is consistent and the server still runs a prompt to its answer.

Bounded for CI (a few hundred requests); ``CODEINTERP_FUZZ_EXAMPLES=5000`` runs a long variant. Hypothesis's pytest
plugin is off (pytest addopts) and pytest-jupyter runs ``async def`` tests itself, so these tests are plain
functions that drive each example on the server's own loop (``jp_asyncio_loop.run_until_complete``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClosedError

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, assert_valid_history, read_events

#: Examples per property; the long variant sets it higher.
EXAMPLES = int(os.environ.get("CODEINTERP_FUZZ_EXAMPLES", "200"))
#: Longest any one request or stream may take: a hang fails the test instead of stalling it.
ANSWER_WITHIN = 20.0

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# -- strategies -----------------------------------------------------------------------------------------

EDGE_TEXT = [
    "",
    " ",
    "\ud800",
    "\udfff",
    "a\udc00b",
    "\x00",
    "\x7f",
    "\x1b[31m",
    "\r\n",
    "\u202e",
    "\ufeff",
    "\u200b",
    "\u2028",
    "\U0001f600",
    "e\u0301",
    "%00",
    "%ED%A0%80",
    "'; DROP TABLE runs; --",
    '"',
    "\\",
    "${HOME}",
    "new",
]
TRAVERSAL = [
    "..",
    "../x.ipynb",
    "../../etc/passwd",
    "a/../../b.ipynb",
    "/etc/passwd",
    "~/.ssh/id_rsa",
    "C:\\Windows\\x",
    "\\\\server\\share",
    "a/./b/../c.ipynb",
    "a//b.ipynb",
    "%2e%2e/x",
    "..%2f..%2fx",
    "a\x00.ipynb",
    "." * 300,
    "a/" * 200 + "b.ipynb",
]

any_char = st.integers(0, 0x10FFFF).map(chr)  # surrogates included
short_texts = st.one_of(
    st.text(any_char, max_size=40),
    st.sampled_from(EDGE_TEXT),
    st.lists(st.one_of(st.sampled_from(EDGE_TEXT), st.text(max_size=4)), max_size=6).map("".join),
)
#: In bodies; URLs get short texts (tornado drops a request line over 64 KB before any handler sees it).
texts = st.one_of(
    short_texts,
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "\U0001f600", "[", "\x00", "é"]), st.integers(0, 70_000)),
)
paths = st.one_of(texts, st.sampled_from(TRAVERSAL))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


#: The control characters tornado turns into spaces in query arguments.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _dumps(value: Any) -> bytes:
    """JSON as a client might send it: escapes for what UTF-8 cannot carry (lone surrogates), NaN allowed."""
    return json.dumps(value).encode()


def _quote(value: str) -> str:
    """Percent-encode any text, lone surrogates included (as the UTF-8-ish bytes a careless client sends)."""
    return urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")


# -- the server and what a fuzzing session knows ----------------------------------------------------------


class Session:
    """One server for a whole property: its api, a real kernel, and a finished run whose ids the fuzz reuses."""

    def __init__(self, api: Api, loop: asyncio.AbstractEventLoop, kernel_id: str, run: dict[str, Any]) -> None:
        self.api = api
        self.loop = loop
        self.kernel_id = kernel_id
        self.run = run

    def do(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(make(), ANSWER_WITHIN))

    def ids(self) -> list[str]:
        return [self.run["run_id"], self.run["thread_id"], self.kernel_id, "new"]


@pytest.fixture
def session(api: Api, llm: ScriptedLLM, kernel_id: str, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Session:
    async def first_run() -> dict[str, Any]:
        llm.script(code("print('hello')"), answer("Said hello."))
        run = await api.wait((await api.start(kernel_id, "say hello", notebook_path="dir/a.ipynb"))["run_id"])
        assert run["status"] == "completed"
        return run

    return Session(api, jp_asyncio_loop, kernel_id, jp_asyncio_loop.run_until_complete(first_run()))


#: The paths our handlers serve (handlers.routes()); anything else is answered by jupyter_server's not-found page.
_OURS = re.compile(
    r"/codeinterp/(config|models|runs|threads|(runs|threads)/[A-Za-z0-9_.-]+|runs/[A-Za-z0-9_.-]+/cancel)/?"
)


def _assert_answered(status: int, body: Any, what: str) -> None:
    ours = _OURS.fullmatch(what.split("?")[0])
    # jupyter_server's not-found page may send a client with a bad ?token= to its login page (3xx).
    assert 200 <= status < 300 or 400 <= status < 500 or (not ours and 300 <= status < 400), (status, body, what)
    if status >= 400 and ours:  # our refusals say why, in JSON
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (body, what)


def _assert_store_consistent(store_path: Path) -> None:
    """Every thread has a run, every run's event log is whole and in order (ended runs end with run_ended), and
    every thread's history could be sent to the model."""
    db = sqlite3.connect(store_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        orphans = db.execute("SELECT COUNT(*) FROM threads WHERE thread_id NOT IN (SELECT thread_id FROM runs)")
        assert orphans.fetchone() == (0,)  # a thread is made with its first run, in one transaction
        for run_id, status, last_seq in db.execute("SELECT run_id, status, last_seq FROM runs").fetchall():
            events = [
                json.loads(e)
                for (e,) in db.execute("SELECT event FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
            ]
            assert [e["seq"] for e in events] == list(range(1, last_seq + 1)), run_id
            if status in ("completed", "failed", "cancelled"):
                assert events[-1]["type"] == "run_ended" and events[-1]["status"] == status
        for (thread_id,) in db.execute("SELECT thread_id FROM threads").fetchall():
            rows = db.execute("SELECT message FROM messages WHERE thread_id = ? ORDER BY idx", (thread_id,))
            assert_valid_history([json.loads(m) for (m,) in rows])
    finally:
        db.close()


def _still_serving(s: Session, llm: ScriptedLLM, store_path: Path) -> None:
    async def check() -> None:
        kernel = await s.api.new_kernel()  # the fuzz may have left a run going on the first one
        llm.script(answer("Still here."))
        run = await s.api.wait((await s.api.start(kernel, "still there?", thread_id="new"))["run_id"])
        assert run["status"] == "completed" and run["answer"] == "Still here."

    s.do(check)
    _assert_store_consistent(store_path)


# -- properties -----------------------------------------------------------------------------------------


def test_post_runs_answers_any_body_with_a_2xx_or_a_4xx(session: Session, llm: ScriptedLLM, store_path: Path) -> None:
    s = session
    field_values = st.one_of(texts, json_values, st.sampled_from(s.ids()))
    near_valid = st.fixed_dictionaries(
        {"kernel_id": st.one_of(st.just(s.kernel_id), field_values), "prompt": st.one_of(texts, json_values)},
        optional={
            "notebook_path": st.one_of(paths, json_values),
            "thread_id": field_values,
            "model": st.one_of(texts, st.just("scripted-model"), json_values),
            "extra": json_values,
        },
    ).map(_dumps)
    bodies = st.one_of(
        near_valid,
        json_values.map(_dumps),
        st.binary(max_size=300),
        st.integers(1, 6000).map(lambda n: b"[" * n),
        st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    )

    valid = {"kernel_id": s.kernel_id, "prompt": "hi", "thread_id": s.run["thread_id"]}

    @FUZZ
    @given(body=bodies)
    @example(body=_dumps(valid))  # besides what it finds: a run that starts, in the thread of another
    @example(body=_dumps({**valid, "thread_id": s.run["run_id"]}))  # a run's id where a thread's belongs
    @example(body=_dumps({**valid, "prompt": "\ud800", "notebook_path": "../../etc/passwd"}))
    def post(body: bytes) -> None:
        status, reply = s.do(lambda: s.api.raw("POST", "/codeinterp/runs", body))
        _assert_answered(status, reply, "/codeinterp/runs")
        if status == 201:  # a valid request: let it end (the script has no reply left, so it fails quickly)
            s.do(lambda: s.api.wait(reply["run_id"]))

    post()
    _still_serving(s, llm, store_path)


def test_every_route_answers_any_query_and_path_with_a_2xx_or_a_4xx(
    session: Session, llm: ScriptedLLM, store_path: Path
) -> None:
    s = session
    names = st.sampled_from(["notebook_path", "kernel_id", "since", "after", "thread_id", "token", "_xsrf", "x"])
    values = st.one_of(
        short_texts, st.sampled_from(TRAVERSAL + s.ids()), st.binary(max_size=20).map(lambda b: b.decode("latin-1"))
    )
    queries = st.lists(st.tuples(names, values), max_size=4).map(
        lambda pairs: "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
    )
    ids = st.one_of(st.sampled_from(s.ids() + TRAVERSAL + [".", "%2F", "a%2Fb"]), short_texts.map(_quote))
    routes = st.one_of(
        st.sampled_from(["GET /config", "GET /models", "GET /runs", "GET /threads"]),
        ids.map(lambda i: f"GET /runs/{i}"),
        ids.map(lambda i: f"POST /runs/{i}/cancel"),
        ids.map(lambda i: f"GET /threads/{i}"),
        ids.map(lambda i: f"DELETE /runs/{i}"),
        st.sampled_from(["PUT /runs", "PATCH /threads", "POST /config"]),
    )

    @FUZZ
    @given(route=routes, query=queries)
    def call(route: str, query: str) -> None:
        method, path = route.split(" ", 1)
        target = f"/codeinterp{path}" + (f"?{query}" if query else "")
        status, reply = s.do(lambda: s.api.raw(method, target))
        _assert_answered(status, reply, target)

    call()
    _still_serving(s, llm, store_path)


def test_the_events_websocket_answers_any_after_and_id_and_ignores_what_clients_send(
    session: Session, llm: ScriptedLLM, store_path: Path
) -> None:
    s = session
    run_id = s.run["run_id"]
    whole = s.do(lambda: s.api.all_events(run_id))
    afters = st.one_of(
        st.integers(-5, len(whole) + 5).map(str),
        st.integers(min_value=2**53).map(str),
        short_texts,
        st.sampled_from(["", "1e3", "0x10", "1.0", "+3", " 4", "\u0663", "1\x002", "\t7\n"]),
    )
    targets = st.one_of(st.sampled_from([run_id, *s.ids(), *TRAVERSAL]), short_texts.map(_quote))
    sent = st.lists(st.one_of(texts, st.binary(max_size=100)), max_size=3)

    async def follow(target: str, after: str, messages: list[str | bytes]) -> tuple[str, Any]:
        try:
            ws = await s.api.raw_events(f"/codeinterp/runs/{target}/events?after={_quote(after)}")
        except HTTPClientError as refused:
            return "refused", refused.code
        try:
            for message in messages:  # text frames may carry bytes that are not UTF-8, as a careless client's do
                text = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else None
                await ws.write_message(text if text is not None else message, binary=text is None)
        except WebSocketClosedError:
            pass  # the replay was over already
        return "stream", await read_events(ws, timeout=ANSWER_WITHIN)

    @FUZZ
    @given(target=targets, after=afters, messages=sent)
    def connect(target: str, after: str, messages: list[str | bytes]) -> None:
        kind, result = s.do(lambda: follow(target, after, messages))
        if kind == "refused":
            assert 400 <= result < 500, (target, after, result)
            return
        # Accepted: the stream of the run, after some seq: exactly the rest of its log, then closed by the server.
        assert urllib.parse.unquote(target) == run_id, target
        read = _CONTROL.sub(" ", after).strip()  # what tornado hands the handler
        start = int(read) if read else 0
        if any(isinstance(m, str) and _SURROGATE.search(m) for m in messages):
            # A text frame that is not UTF-8 breaks the protocol: the server may close the stream early (1007).
            assert result == whole[start:][: len(result)], (after, [e["seq"] for e in result])
        else:
            assert result == whole[start:], (after, [e["seq"] for e in result])

    connect()
    _still_serving(s, llm, store_path)
