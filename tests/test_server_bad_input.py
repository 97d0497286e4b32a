"""Bad input gets a 4xx with a JSON message, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import pytest

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
