"""Fuzzing /codeinterp/v1 on a real server: random and malformed bodies for responses and containers, odd ids,
paging arguments and bytes in every route. Allowed answers: 2xx, or a 4xx in OpenAI's error shape, in time;
afterwards the server still answers a response to the end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.openai_support import *  # noqa: F403
from tests.scripted_llm import ScriptedLLM, answer
from tests.server_support import Api
from tests.test_fuzz_api import FUZZ, TRAVERSAL, Session, _dumps, _quote, json_values, short_texts, texts

V1 = "/codeinterp/v1"


def _assert_openai_answer(status: int, body: Any, what: str) -> None:
    assert 200 <= status < 300 or 400 <= status < 500, (status, body, what)
    if status >= 400:
        assert isinstance(body, dict) and set(body) == {"error"}, (body, what)
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], (body, what)


@pytest.fixture
def facade(api: Api, llm: ScriptedLLM, jp_asyncio_loop: asyncio.AbstractEventLoop) -> tuple[Session, dict[str, str]]:
    async def setup() -> dict[str, str]:
        status, container = await api.post("codeinterp", "v1", "containers", body={"name": "fuzz"})
        assert status == 200, container
        llm.script(answer("Ready."))
        tools = [{"type": "code_interpreter", "container": container["id"]}]
        status, response = await api.post("codeinterp", "v1", "responses", body={"tools": tools, "input": "hi"})
        assert status == 200 and response["status"] == "completed", response
        _, assistant = await api.post("codeinterp", "v1", "assistants", body={"model": "m"})
        _, thread = await api.post("codeinterp", "v1", "threads", body={"messages": [{"role": "user", "content": "x"}]})
        return {
            "container": container["id"],
            "response": response["id"],
            "assistant": assistant["id"],
            "thread": thread["id"],
        }

    ids = jp_asyncio_loop.run_until_complete(setup())
    return Session(api, jp_asyncio_loop, "", {}), ids


def _still_answering(s: Session, llm: ScriptedLLM, container: str) -> None:
    async def check() -> None:
        llm.script(answer("Still here."))
        tools = [{"type": "code_interpreter", "container": container}]
        for _ in range(100):  # a fuzzed request may still be ending on the container's kernel
            status, body = await s.api.post("codeinterp", "v1", "responses", body={"tools": tools, "input": "ok?"})
            if status != 409:
                break
            await asyncio.sleep(0.1)
        assert status == 200 and body["output"][-1]["content"][0]["text"] == "Still here.", body

    s.do(check)


def test_post_responses_answers_any_body_with_a_2xx_or_an_openai_4xx(
    facade: tuple[Session, dict[str, str]], llm: ScriptedLLM
) -> None:
    s, ids = facade
    some_id = st.sampled_from([ids["container"], ids["response"], "cntr_x", "resp_x", "file-x", *TRAVERSAL[:4]])
    tool = st.one_of(
        st.fixed_dictionaries({"type": st.just("code_interpreter"), "container": st.one_of(some_id, json_values)}),
        st.fixed_dictionaries({"type": st.one_of(texts, st.just("web_search"))}),
        json_values,
    )
    part = st.fixed_dictionaries(
        {"type": st.sampled_from(["input_text", "input_file", "input_image", "x"])},
        optional={"text": texts, "file_id": st.one_of(some_id, texts), "image_url": texts, "file_data": texts},
    )
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", ""])},
        optional={"content": st.one_of(texts, st.lists(part, max_size=3)), "type": texts},
    )
    near_valid = st.fixed_dictionaries(
        {"tools": st.lists(tool, max_size=2), "input": st.one_of(texts, st.lists(message, max_size=3), json_values)},
        optional={
            "previous_response_id": st.one_of(some_id, json_values),
            "include": st.one_of(st.lists(texts, max_size=2), json_values),
            "max_output_tokens": json_values,
            "temperature": json_values,
            "metadata": json_values,
            "stream": st.booleans(),
            "background": json_values,
            "reasoning": json_values,
        },
    ).map(_dumps)
    bodies = st.one_of(near_valid, json_values.map(_dumps), st.binary(max_size=300))

    @FUZZ
    @given(body=bodies)
    def post(body: bytes) -> None:
        status, reply = s.do(lambda: s.api.raw("POST", f"{V1}/responses", body))
        if status == 200 and isinstance(reply, str):  # a stream: its events, each a JSON line
            assert "event: response.created" in reply, reply[:200]
            return
        _assert_openai_answer(status, reply, "POST /responses")

    post()
    _still_answering(s, llm, ids["container"])


def test_every_v1_route_answers_any_id_and_query_with_a_2xx_or_an_openai_4xx(
    facade: tuple[Session, dict[str, str]], llm: ScriptedLLM
) -> None:
    s, ids = facade
    some = st.one_of(
        st.sampled_from(
            [
                ids["container"],
                ids["response"],
                ids["thread"],
                ids["assistant"],
                "file-x",
                "cfile_x",
                ".",
                "%2F",
                *TRAVERSAL[:4],
            ]
        ),
        short_texts.map(_quote),
    )
    names = st.sampled_from(["after", "limit", "order", "purpose", "x"])
    values = st.one_of(short_texts, st.sampled_from(["-1", "0", "101", "asc", "desc", ids["response"]]))
    queries = st.lists(st.tuples(names, values), max_size=3).map(
        lambda pairs: "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs)
    )
    routes = st.one_of(
        st.sampled_from(["GET /files", "GET /containers", "POST /files", "PUT /responses", "GET /assistants"]),
        some.map(lambda i: f"GET /files/{i}"),
        some.map(lambda i: f"GET /files/{i}/content"),
        some.map(lambda i: f"GET /containers/{i}/files"),
        st.tuples(some, some).map(lambda p: f"GET /containers/{p[0]}/files/{p[1]}/content"),
        some.map(lambda i: f"GET /responses/{i}"),
        some.map(lambda i: f"POST /responses/{i}/cancel"),
        st.tuples(some, st.integers(0, 3)).map(lambda p: f"GET /responses/{p[0]}/images/{p[1]}/0"),
        some.map(lambda i: f"POST /containers/{i}/files"),
        st.sampled_from(["GET /assistants", "POST /assistants", "POST /threads", "POST /threads/runs"]),
        some.map(lambda i: f"GET /threads/{i}/messages"),
        some.map(lambda i: f"POST /threads/{i}/messages"),
        some.map(lambda i: f"POST /threads/{i}/runs"),
        st.tuples(some, some).map(lambda p: f"GET /threads/{p[0]}/runs/{p[1]}/steps"),
        st.tuples(some, some).map(lambda p: f"POST /threads/{p[0]}/runs/{p[1]}/cancel"),
        some.map(lambda i: f"GET /threads/{i}/notebook"),
        some.map(lambda i: f"DELETE /assistants/{i}"),
    )
    container_bodies = st.one_of(
        json_values.map(_dumps),
        st.binary(max_size=200),
        st.fixed_dictionaries(
            {"name": st.just("x"), "memory_limit": texts.filter(lambda t: t not in ("1g", "4g", "16g", "64g"))}
        ).map(_dumps),
        st.fixed_dictionaries({"name": st.just("x"), "expires_after": json_values.filter(lambda v: v is not None)})
        .filter(lambda b: not (isinstance(b["expires_after"], dict) and b["expires_after"].get("anchor")))
        .map(_dumps),
    )

    @FUZZ
    @given(route=routes, query=queries, body=container_bodies)
    def call(route: str, query: str, body: bytes) -> None:
        method, path = route.split(" ", 1)
        target = f"{V1}{path}" + (f"?{query}" if query else "")
        status, reply = s.do(lambda: s.api.raw(method, target, body if method == "POST" else None))
        _assert_openai_answer(status, reply, target)
        status, reply = s.do(lambda: s.api.raw("POST", f"{V1}/containers", body))
        _assert_openai_answer(status, reply, f"POST /containers {body[:80]!r}")
        assert status != 200 or json.loads(body).get("name") == "x"

    call()
    _still_answering(s, llm, ids["container"])
