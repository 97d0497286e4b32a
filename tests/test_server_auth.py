"""Every route is authenticated and authorized against the resource ``codeinterp``."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.utils import JupyterServerAuthWarning
from tornado.httpclient import HTTPClientError

from tests.scripted_llm import ScriptedLLM, answer
from tests.server_support import *  # noqa: F403
from tests.server_support import Api

NO_CREDENTIALS = {"Authorization": ""}


def _routes(run_id: str, thread_id: str) -> list[tuple[str, tuple[str, ...]]]:
    return [
        ("GET", ("codeinterp", "config")),
        ("GET", ("codeinterp", "models")),
        ("POST", ("codeinterp", "runs")),
        ("GET", ("codeinterp", "runs", run_id)),
        ("POST", ("codeinterp", "runs", run_id, "cancel")),
        ("GET", ("codeinterp", "runs")),
        ("GET", ("codeinterp", "threads")),
        ("GET", ("codeinterp", "threads", thread_id)),
    ]


async def _a_finished_run(api: Api, llm: ScriptedLLM) -> dict[str, Any]:
    llm.script(answer("hello"))
    kernel_id = await api.new_kernel()
    started = await api.start(kernel_id, "hi")
    await api.wait(started["run_id"])
    return started


async def test_the_server_starts_without_an_auth_warning(
    jp_configurable_serverapp: Any, jp_server_config: dict[str, Any]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=jp_server_config)
    assert "jupyter_codeinterp" in app.extension_manager.extension_apps
    assert [w for w in caught if issubclass(w.category, JupyterServerAuthWarning)] == []


async def test_every_route_is_403_without_credentials(api: Api, llm: ScriptedLLM) -> None:
    ids = await _a_finished_run(api, llm)

    for method, path in _routes(ids["run_id"], ids["thread_id"]):
        body = {"kernel_id": "k", "prompt": "p"} if method == "POST" else None
        status, reply = await api.call(method, *path, body=body, headers=dict(NO_CREDENTIALS))
        assert status == 403, (method, path, status, reply)
    with pytest.raises(HTTPClientError) as refused:
        await api._ws_fetch("codeinterp", "runs", ids["run_id"], "events", headers=dict(NO_CREDENTIALS))
    assert refused.value.code == 403


async def test_a_wrong_token_is_403(api: Api, llm: ScriptedLLM) -> None:
    ids = await _a_finished_run(api, llm)
    status, _ = await api.get("codeinterp", "runs", ids["run_id"], headers={"Authorization": "token not-the-token"})
    assert status == 403


class DenyCodeinterp(Authorizer):
    """Lets a user do everything except use the code interpreter."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "codeinterp"


class TestAuthorization:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        jp_server_config["ServerApp"]["authorizer_class"] = DenyCodeinterp
        return jp_server_config

    async def test_an_authenticated_user_not_authorized_for_codeinterp_gets_403_everywhere(self, api: Api) -> None:
        kernel_id = await api.new_kernel()  # the rest of the server still works for this user

        for method, path in _routes("r-0123456789abcdef", "t-0123456789abcdef"):
            body = {"kernel_id": kernel_id, "prompt": "p"} if method == "POST" else None
            status, reply = await api.call(method, *path, body=body)
            assert status == 403, (method, path, status, reply)
        with pytest.raises(HTTPClientError) as refused:
            await api.events("r-0123456789abcdef")
        assert refused.value.code == 403
