"""Shared fixtures: the scripted model server, real kernels, and an auth-hardened Jupyter server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import AsyncKernelManager

from jupyter_codeinterp.config import CodeInterpreter
from tests.scripted_llm import ScriptedLLM

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# Every event made anywhere in the suite (this process, the CLI and servers it starts, kernels) is checked against
# the schema generated from events.py: a field its type does not declare fails the test that made it.
os.environ["CODEINTERP_CHECK_EVENTS"] = "1"

#: A key recognisable anywhere it might leak.
TEST_KEY = "sk-test-SECRET-4f9a1c"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """Our extension on, and no unauthenticated access: a handler missing its auth decorator fails."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_codeinterp": True},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=TEST_KEY) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def kernel(jp_asyncio_loop: asyncio.AbstractEventLoop, workdir: Path) -> Iterator[AsyncKernelManager]:
    """A real ipykernel with the work folder as its working directory."""
    km = AsyncKernelManager(kernel_name="python3")
    jp_asyncio_loop.run_until_complete(km.start_kernel(cwd=str(workdir)))
    yield km
    jp_asyncio_loop.run_until_complete(km.shutdown_kernel(now=True))


@pytest.fixture
def make_config(llm: ScriptedLLM) -> Callable[..., CodeInterpreter]:
    def make(**overrides: Any) -> CodeInterpreter:
        settings: dict[str, Any] = {
            "model": "scripted-model",
            "base_url": llm.url,
            "api_key": TEST_KEY,
            "max_retries": 2,
            "request_timeout": 20.0,
        }
        settings.update(overrides)
        return CodeInterpreter(**settings)

    return make
