"""The model clients the magic and ``eval`` keep: one per configuration and event loop, never keyed by the key
itself; and the magic's runs sharing one (against the scripted model, in a real IPython shell)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_codeinterp import cellrun, clients
from jupyter_codeinterp.clients import close_clients, connection_key, shared_client
from jupyter_codeinterp.config import CodeInterpreter
from tests.conftest import TEST_KEY
from tests.magic_support import RecordingFrontend
from tests.scripted_llm import ScriptedLLM, answer, code


def _config(**changes: Any) -> CodeInterpreter:
    values: dict[str, Any] = {"model": "m", "base_url": "http://127.0.0.1:9/v1", "api_key": TEST_KEY, **changes}
    return CodeInterpreter(**values)


async def test_one_client_per_configuration_a_new_one_when_the_model_or_key_changes() -> None:
    first = shared_client(_config())
    try:
        assert shared_client(_config()) is first  # an equal configuration, another object: the same client
        other_model = shared_client(_config(model="other"))
        other_key = shared_client(_config(api_key=TEST_KEY + "-2"))
        other_url = shared_client(_config(base_url="http://127.0.0.1:10/v1"))
        assert len({id(c) for c in (first, other_model, other_key, other_url)}) == 4
        assert other_key.api_key == TEST_KEY + "-2"
    finally:
        await close_clients()
    assert first.is_closed() and other_key.is_closed()


async def test_the_key_is_in_the_cache_only_as_a_digest() -> None:
    key = connection_key(_config())
    assert TEST_KEY not in repr(key) and TEST_KEY[8:20] not in repr(key)
    assert connection_key(_config(api_key=TEST_KEY + "x")) != key


async def test_the_oldest_client_is_closed_when_too_many_are_kept() -> None:
    made = [shared_client(_config(model=f"m{i}")) for i in range(clients.MAX_PER_LOOP + 1)]
    await asyncio.sleep(0.1)  # its close was scheduled on this loop
    try:
        assert made[0].is_closed() and not made[-1].is_closed()
        assert shared_client(_config(model="m0")) is not made[0]
    finally:
        await close_clients()


def test_each_event_loop_has_its_own_clients() -> None:
    async def get() -> Any:
        client = shared_client(_config())
        await close_clients()
        return client

    assert asyncio.run(get()) is not asyncio.run(get())


@pytest.fixture
def shell(llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("CODEINTERP_MODEL", "scripted-model")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    ip.display_pub = RecordingFrontend(ip)
    ip.run_line_magic("load_ext", "jupyter_codeinterp")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_codeinterp")
    InteractiveShell.clear_instance()


def test_the_magics_runs_share_one_loop_and_one_client(shell: Any, llm: ScriptedLLM) -> None:
    llm.script(code("x = 1"), answer("Set."), answer("Still here."), answer("Other model."))
    shell.run_cell_magic("interpret", "", "set x")
    loop = cellrun._loop
    assert loop is not None and len(clients._clients[loop]) == 1
    client = next(iter(clients._clients[loop].values()))

    shell.run_cell_magic("interpret", "", "and again")
    assert cellrun._loop is loop and list(clients._clients[loop].values()) == [client]
    assert not client.is_closed()

    shell.run_cell_magic("interpret", "--model other-model", "with another model")
    assert len(clients._clients[loop]) == 2 and client in clients._clients[loop].values()
    assert [r["model"] for r in llm.requests] == ["scripted-model"] * 3 + ["other-model"]
