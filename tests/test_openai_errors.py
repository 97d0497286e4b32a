"""Every refusal of /codeinterp/v1 is a 4xx in OpenAI's error shape, raised by the SDK as its own exception
class; nothing the server does not support is silently ignored; no route answers without the Jupyter token."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.conftest import TEST_KEY
from tests.openai_support import *  # noqa: F403
from tests.scripted_llm import ScriptedLLM, answer, code, error
from tests.server_support import Api

CI = [{"type": "code_interpreter", "container": {"type": "auto"}}]


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": []}, "tools"),
        ({"reasoning": {"effort": "high"}}, "reasoning"),
        ({"include": ["file_search_call.results"]}, "include"),
        ({"input": ""}, "input"),
        ({"input": [{"role": "assistant", "content": "hi"}]}, "input"),
        ({"input": [{"type": "function_call_output", "call_id": "x", "output": "y"}]}, "input[0].type"),
        ({"input": "x" * 6000}, "input"),
        ({"temperature": 7}, "temperature"),
        ({"max_output_tokens": 2}, "max_output_tokens"),
        ({"metadata": {"k": 1}}, "metadata"),
        ({"tools": [{"type": "code_interpreter", "container": "cntr_nope"}]}, "tools[0].container"),
        ({"previous_response_id": "resp_nope"}, "previous_response_id"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]},
            "input[0].content[0].image_url",
        ),
    ],
)
async def test_bad_requests_are_4xx_naming_the_parameter(
    client: AsyncOpenAI, llm: ScriptedLLM, fields: dict[str, Any], param: str
) -> None:
    body: dict[str, Any] = {"model": "m", "tools": CI, "input": "hello", **fields}
    extra = {k: body.pop(k) for k in list(body) if k in ("reasoning",)}
    with pytest.raises(openai.APIStatusError) as refused:
        await client.responses.create(**body, extra_body=extra or None)
    assert refused.value.status_code in (400, 404)
    assert error_of(refused.value)["param"] == param
    assert llm.requests == []  # nothing reached the model


async def test_bad_json_and_a_non_object_body_are_400(api_url: str, token: str, http_server_client: Any) -> None:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
            got = await http.post(f"{api_url}/responses", content=body)
            assert got.status_code == 400, got.text
            assert got.json()["error"]["type"] == "invalid_request_error"
        got = await http.post(f"{api_url}/containers", content=b"{}")
        assert got.status_code == 400 and got.json()["error"]["param"] == "name"


async def test_every_route_refuses_a_missing_or_wrong_token(api_url: str, http_server_client: Any) -> None:
    routes = [
        ("GET", "/files"),
        ("POST", "/files"),
        ("GET", "/files/file-x"),
        ("DELETE", "/files/file-x"),
        ("GET", "/files/file-x/content"),
        ("GET", "/containers"),
        ("POST", "/containers"),
        ("GET", "/containers/cntr_x"),
        ("DELETE", "/containers/cntr_x"),
        ("GET", "/containers/cntr_x/files"),
        ("POST", "/containers/cntr_x/files"),
        ("GET", "/containers/cntr_x/files/cfile_x"),
        ("DELETE", "/containers/cntr_x/files/cfile_x"),
        ("GET", "/containers/cntr_x/files/cfile_x/content"),
        ("POST", "/responses"),
        ("GET", "/responses/resp_x"),
        ("DELETE", "/responses/resp_x"),
        ("POST", "/responses/resp_x/cancel"),
        ("GET", "/responses/resp_x/images/1/0"),
        ("GET", "/assistants"),
    ]
    for headers in ({}, {"Authorization": "Bearer wrong-token"}):
        async with httpx.AsyncClient(headers=headers) as http:
            for method, route in routes:
                got = await http.request(method, f"{api_url}{route}", content=b"{}" if method == "POST" else None)
                assert got.status_code == 401, (method, route, got.status_code)
                assert got.json()["error"]["code"] == "invalid_api_key"


async def test_the_sdk_raises_its_own_classes(client: AsyncOpenAI, api_url: str, token: str) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.containers.retrieve("cntr_missing")
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve("resp_missing")
    with pytest.raises(openai.AuthenticationError):
        async with AsyncOpenAI(base_url=api_url, api_key="not-the-token", max_retries=0) as stranger:
            await stranger.files.list()
    with pytest.raises(openai.NotFoundError) as unknown:
        await client.get("/vector_stores", cast_to=object)
    assert error_of(unknown.value)["code"] == "unknown_route"


async def test_a_file_of_another_container_and_an_unknown_file_id_are_refused(client: AsyncOpenAI) -> None:
    one = await client.containers.create(name="one")
    two = await client.containers.create(name="two")
    mine = await client.containers.files.create(one.id, file=("a.txt", io.BytesIO(b"a")))
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.content.retrieve(mine.id, container_id=two.id)
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.create(one.id, file_id="file-missing")
    with pytest.raises(openai.NotFoundError):
        await client.containers.create(name="three", file_ids=["file-missing"])
    with pytest.raises(openai.BadRequestError):
        await client.containers.create(name="four", memory_limit="3g")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError) as allow:
        await client.containers.create(
            name="five", network_policy={"type": "allowlist", "allowed_domains": ["pypi.org"]}
        )
    assert error_of(allow.value)["code"] == "unsupported_parameter"


async def test_cancel_mid_run_stops_the_code_and_the_response_says_cancelled(
    client: AsyncOpenAI, llm: ScriptedLLM, api: Api
) -> None:
    llm.script(code("import time\nprint('started', flush=True)\ntime.sleep(60)"), answer("never"))
    started = await client.responses.create(model="m", tools=CI, input="Sleep.", background=True)
    assert started.status in ("queued", "in_progress")
    for _ in range(200):
        now = await client.responses.retrieve(started.id)
        if now.output and now.output[0].status == "interpreting":
            break
        await asyncio.sleep(0.05)
    cancelled = await client.responses.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert cancelled.output[0].status == "incomplete"
    run = (await api.get("codeinterp", "runs", params={"since": "0"}))[1]["runs"][0]
    assert run["status"] == "cancelled"  # a facade run is an ordinary run


async def test_background_responses_are_polled_to_completion(client: AsyncOpenAI, llm: ScriptedLLM) -> None:
    llm.script(answer("Done.", delay=0.1))
    started = await client.responses.create(model="m", tools=CI, input="Take your time.", background=True)
    for _ in range(200):
        polled = await client.responses.retrieve(started.id)
        if polled.status not in ("queued", "in_progress"):
            break
        await asyncio.sleep(0.05)
    assert polled.status == "completed" and polled.output_text == "Done."


async def test_max_output_tokens_ends_the_response_incomplete(client: AsyncOpenAI, llm: ScriptedLLM) -> None:
    counting = "print(" + " + ".join(str(n) for n in range(40)) + ")"  # ~40 completion tokens a reply
    llm.script(code(counting), code(counting), answer("never"))
    response = await client.responses.create(model="m", tools=CI, input="Count.", max_output_tokens=16)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.error is None


async def test_a_deleted_response_is_gone_and_store_false_is_not_kept(client: AsyncOpenAI, llm: ScriptedLLM) -> None:
    llm.script(answer("One."), answer("Two."))
    kept = await client.responses.create(model="m", tools=CI, input="One.")
    await client.responses.delete(kept.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(kept.id)
    unstored = await client.responses.create(model="m", tools=CI, input="Two.", store=False)
    assert unstored.output_text == "Two."
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(unstored.id)


async def test_a_client_that_leaves_mid_stream_stops_nothing_and_the_response_is_kept(
    client: AsyncOpenAI, llm: ScriptedLLM
) -> None:
    llm.script(code("import time\ntime.sleep(1)\nprint('slept')"), answer("Slept a second."))
    stream = await client.responses.create(model="m", tools=CI, input="Sleep a second.", stream=True)
    response_id = None
    async for event in stream:
        if event.type == "response.created":
            response_id = event.response.id
        if event.type == "response.code_interpreter_call.interpreting":
            break
    await stream.close()  # the client goes away mid-step
    assert response_id is not None
    for _ in range(200):
        kept = await client.responses.retrieve(response_id)
        if kept.status != "in_progress":
            break
        await asyncio.sleep(0.05)
    assert kept.status == "completed" and kept.output_text == "Slept a second."


async def test_a_container_whose_kernel_was_shut_down_in_jupyterlab_is_expired(client: AsyncOpenAI, api: Api) -> None:
    container = await client.containers.create(name="gone")
    kernel_id = (await api.get("codeinterp", "v1", "containers", container.id))[1]["kernel_id"]
    status, _ = await api.call("DELETE", "api", "kernels", kernel_id)
    assert status == 204
    assert (await client.containers.retrieve(container.id)).status == "expired"
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(
            model="m", tools=[{"type": "code_interpreter", "container": container.id}], input="Still there?"
        )
    assert refused.value.code == "container_expired"


async def test_a_model_failure_is_a_failed_response_that_never_carries_the_key(
    client: AsyncOpenAI, llm: ScriptedLLM
) -> None:
    llm.script(error(401, f"Incorrect API key provided: {TEST_KEY}"))
    response = await client.responses.create(model="m", tools=CI, input="Hello?")
    assert response.status == "failed"
    assert response.error is not None and response.error.code == "server_error" and "401" in response.error.message
    assert TEST_KEY not in response.model_dump_json()
    assert TEST_KEY[6:18] not in (await client.responses.retrieve(response.id)).model_dump_json()
