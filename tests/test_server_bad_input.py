"""Bad input gets a 4xx with a JSON message, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_codeinterp.validation import MAX_JSON_DEPTH, BadRequest, json_depth, parse_json_body
from tests.scripted_llm import ScriptedLLM, answer
from tests.server_support import *  # noqa: F403
from tests.server_support import Api

MAX_PROMPT = 5000  # CodeInterpreterApp.max_prompt_chars in the test config


def _assert_json_error(status: int, body: Any, expected: int) -> None:
    assert status == expected, body
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], body


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b'"just a string"', "JSON object"),
        (b'{"prompt": "hi"}', "kernel_id"),
        (b'{"kernel_id": 5, "prompt": "hi"}', "kernel_id"),
        (b'{"kernel_id": "K"}', "prompt"),
        (b'{"kernel_id": "K", "prompt": "   "}', "prompt"),
        (b'{"kernel_id": "K", "prompt": ["a"]}', "prompt"),
        (b'{"kernel_id": "K", "prompt": "hi", "notebook_path": 3}', "notebook_path"),
        (b'{"kernel_id": "K", "prompt": "hi", "notebook_path": "../../etc/x.ipynb"}', "notebook_path"),
        (b'{"kernel_id": "K", "prompt": "hi", "thread_id": {"id": 1}}', "thread_id"),
        (b'{"kernel_id": "K", "prompt": "hi", "model": 4}', "model"),
    ],
)
async def test_malformed_run_requests_are_400(api: Api, kernel_id: str, raw: bytes, fragment: str) -> None:
    status, body = await api.post("codeinterp", "runs", raw=raw.replace(b'"K"', f'"{kernel_id}"'.encode()))
    _assert_json_error(status, body, 400)
    assert fragment in body["message"]


async def test_an_oversized_prompt_is_413(api: Api, kernel_id: str) -> None:
    status, body = await api.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": "x" * (MAX_PROMPT + 1)})
    _assert_json_error(status, body, 413)
    assert "max_prompt_chars" in body["message"]


async def test_unknown_ids_are_404(api: Api, kernel_id: str) -> None:
    cases = [
        ("POST", ("codeinterp", "runs"), {"kernel_id": "no-such-kernel", "prompt": "hi"}),
        ("POST", ("codeinterp", "runs"), {"kernel_id": kernel_id, "prompt": "hi", "thread_id": "t-nope"}),
        ("GET", ("codeinterp", "runs", "r-nope"), None),
        ("POST", ("codeinterp", "runs", "r-nope", "cancel"), None),
        ("GET", ("codeinterp", "threads", "t-nope"), None),
    ]
    for method, path, body in cases:
        status, reply = await api.call(method, *path, body=body)
        _assert_json_error(status, reply, 404)


async def test_wrong_methods_are_405(api: Api) -> None:
    cases = [
        ("PUT", ("codeinterp", "runs")),
        ("DELETE", ("codeinterp", "runs")),
        ("PUT", ("codeinterp", "config")),
        ("POST", ("codeinterp", "config")),
        ("GET", ("codeinterp", "runs", "r-x", "cancel")),
        ("DELETE", ("codeinterp", "runs", "r-x")),
        ("POST", ("codeinterp", "threads")),
        ("PATCH", ("codeinterp", "threads", "t-x")),
    ]
    for method, path in cases:
        status, reply = await api.call(method, *path, body={} if method in ("POST", "PUT", "PATCH") else None)
        _assert_json_error(status, reply, 405)


async def test_a_bad_notebook_path_filter_is_400(api: Api) -> None:
    for route in ("threads", "runs"):
        status, body = await api.get("codeinterp", route, params={"notebook_path": "../outside.ipynb"})
        _assert_json_error(status, body, 400)


async def test_a_bad_since_is_400(api: Api) -> None:
    for since in ("yesterday", "-1", "nan", "inf", ""):
        status, body = await api.get("codeinterp", "runs", params={"since": since})
        _assert_json_error(status, body, 400)
        assert "'since'" in body["message"]


async def test_a_configuration_that_cannot_work_is_503_with_what_to_set(
    api: Api, kernel_id: str, jp_serverapp: Any
) -> None:
    jp_serverapp.web_app.settings["codeinterp_service"].config.model = ""

    status, body = await api.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": "hi"})

    _assert_json_error(status, body, 503)
    assert "CODEINTERP_MODEL" in body["message"]
    _, config = await api.get("codeinterp", "config")
    assert config["problem"] == body["message"]


async def test_the_server_keeps_serving_after_bad_input(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    for raw in (b"{", b"\x00\x01", b"[]", b'{"kernel_id": null, "prompt": null}'):
        status, _ = await api.post("codeinterp", "runs", raw=raw)
        assert status == 400
    llm.script(answer("still here"))
    run = await api.wait((await api.start(kernel_id, "are you there?"))["run_id"])
    assert run["answer"] == "still here"


# -- every byte of input is safe: bodies, text fields, query arguments and path ids --------------------


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b"[" * 5000, 400, "deeper than"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, 400, "deeper than"),
        (b'{"kernel_id": "K", "prompt": "hi", "extra": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "deeper than"),
        (b'{"kernel_id": "K", "prompt": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 201, ""),
        (b'{"kernel_id": "K", "prompt": "hi", "n": ' + b"9" * 5000 + b"}", 400, "not valid JSON"),
        (b'{"kernel_id": "K", "prompt": "' + b"x" * (12 * MAX_PROMPT + 65536) + b'"}', 413, "limit is"),
    ],
)
async def test_bodies_are_parsed_with_bounded_depth_and_size(
    api: Api, llm: ScriptedLLM, kernel_id: str, raw: bytes, status: int, fragment: str
) -> None:
    llm.script(answer("ok"))
    code, body = await api.post("codeinterp", "runs", raw=raw.replace(b'"K"', f'"{kernel_id}"'.encode()))
    if status == 201:
        assert code == 201, body  # brackets inside a string are text, not nesting
        await api.wait(body["run_id"])
        return
    _assert_json_error(code, body, status)
    assert fragment in body["message"]


@pytest.mark.parametrize("field", ["prompt", "kernel_id", "thread_id", "notebook_path", "model"])
@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "\udbff"])
async def test_text_the_store_cannot_encode_is_400_naming_the_field(
    api: Api, kernel_id: str, field: str, bad: str
) -> None:
    body = {"kernel_id": kernel_id, "prompt": "hi", field: bad}
    status, reply = await api.post("codeinterp", "runs", body=body)  # json.dumps escapes it: "\ud800"
    _assert_json_error(status, reply, 400)
    assert f"'{field}'" in reply["message"] and "surrogate" in reply["message"]


@pytest.mark.parametrize("field", ["kernel_id", "thread_id", "notebook_path", "model"])
async def test_nul_and_control_characters_in_ids_and_paths_are_400_naming_the_field(
    api: Api, kernel_id: str, field: str
) -> None:
    for bad in ("a\x00b", "\x1b[31m", "line\nbreak"):
        status, reply = await api.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": "hi", field: bad})
        _assert_json_error(status, reply, 400)
        assert f"'{field}'" in reply["message"] and "control characters" in reply["message"]


async def test_a_prompt_is_text_and_keeps_every_character_it_can_store(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    prompt = "NUL \x00, tab \t, emoji \U0001f600, RTL \u202e, zero-width \u200b, BOM \ufeff"
    llm.script(answer("ok"))
    run = await api.wait((await api.start(kernel_id, prompt, notebook_path="weird/ünï cödé.ipynb"))["run_id"])
    assert run["status"] == "completed" and run["prompt"] == prompt
    assert run["notebook_path"] == "weird/ünï cödé.ipynb"
    assert llm.requests[0]["messages"][-1]["content"] == prompt
    _, thread = await api.get("codeinterp", "threads", run["thread_id"])
    assert thread["messages"][1] == {"role": "user", "content": prompt}


ODD_QUERY_VALUES = ["%00", "%ED%A0%80", "%FF%FE", "%25", "%C0%AE%C0%AE%2F", "..%2F..%2Fetc", "x" * 5000, "%E2%80%AE"]


async def test_odd_query_arguments_are_4xx_or_an_answer_never_a_500(api: Api, kernel_id: str) -> None:
    for route in ("/codeinterp/runs", "/codeinterp/threads"):
        for name in ("notebook_path", "kernel_id", "since"):
            for value in [*ODD_QUERY_VALUES, "1e999", "9" * 400, "-0", "0x10"]:
                status, body = await api.raw("GET", f"{route}?{name}={value}")
                assert status in (200, 400), (route, name, value, status, body)
                assert isinstance(body, dict), body
    status, body = await api.raw("GET", "/codeinterp/runs?notebook_path=%00")
    assert status == 200 and body["runs"] == []  # tornado strips control characters from query arguments


async def test_odd_path_ids_are_404_never_a_500(api: Api) -> None:
    for run_id in ("%ED%A0%80", "%00", "..", "%2E%2E", "a%2Fb", "%FF", "r-" + "x" * 5000, "%252E%252E"):
        for method, target in (
            ("GET", f"/codeinterp/runs/{run_id}"),
            ("POST", f"/codeinterp/runs/{run_id}/cancel"),
            ("GET", f"/codeinterp/threads/{run_id}"),
        ):
            status, _ = await api.raw(method, target)
            assert 400 <= status < 500, (method, target, status)


async def test_the_events_stream_refuses_odd_after_values_before_the_upgrade(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(answer("ok"))
    run_id = (await api.start(kernel_id, "hi"))["run_id"]
    await api.wait(run_id)
    # (tornado strips control characters and spaces from query arguments: "%00" and " " mean "after=", i.e. 0)
    odd = [v for v in ODD_QUERY_VALUES if v != "%00"]
    for after in [*odd, str(2**70), "9" * 5000, "1e3", "1.5", "0" * 30 + "1", "-0x1"]:
        with pytest.raises(HTTPClientError) as refused:
            ws = await api.raw_events(f"/codeinterp/runs/{run_id}/events?after={after}")
            ws.close()
        assert refused.value.code == 400, after
    for run_id in ("%ED%A0%80", "..", "%00"):
        with pytest.raises(HTTPClientError) as refused:
            await api.raw_events(f"/codeinterp/runs/{run_id}/events")
        assert 400 <= refused.value.code < 500, run_id


def test_nesting_is_measured_without_recursion_and_strings_do_not_count() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}], "c": "\\"["}') == 3
    assert json_depth("[" * 100_000) == 100_000
    assert json_depth('"unterminated [[[') == 3  # then json.loads says what is wrong
    assert parse_json_body(b"  ", 100) is None
    with pytest.raises(BadRequest, match="deeper than"):
        parse_json_body(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), 10_000)
    value = parse_json_body(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, 10_000)
    for _ in range(MAX_JSON_DEPTH - 1):
        [value] = value
    assert value == []
