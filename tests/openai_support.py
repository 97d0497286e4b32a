"""Fixtures for the OpenAI-compatible facade's tests: the real ``openai`` SDK pointed at a real Jupyter server's
``/codeinterp/v1``, with the Jupyter token as its api_key, the way a user's script would be."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.scripted_llm import ScriptedLLM
from tests.server_support import api, server_config, store_path

__all__ = ["api", "api_url", "client", "jp_server_config", "run_example", "store_path", "token"]


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, store_path: Path) -> dict[str, Any]:
    config = server_config(llm, store_path)
    config["CodeInterpreterApp"]["container_kernel"] = "python3"
    config["CodeInterpreter"]["max_file_bytes"] = 200_000
    return config


@pytest.fixture
def token(jp_auth_header: dict[str, str]) -> str:
    return jp_auth_header["Authorization"].split(" ", 1)[1]


@pytest.fixture
def api_url(jp_http_port: int, jp_base_url: str) -> str:
    return f"http://localhost:{jp_http_port}{jp_base_url}codeinterp/v1"


@pytest.fixture
def client(
    api_url: str, token: str, http_server_client: Any, jp_asyncio_loop: asyncio.AbstractEventLoop
) -> Iterator[AsyncOpenAI]:
    sdk = AsyncOpenAI(base_url=api_url, api_key=token, max_retries=0, timeout=60)
    yield sdk
    jp_asyncio_loop.run_until_complete(sdk.close())


async def run_example(script: Path, *args: str, cwd: Path, api_url: str, token: str) -> str:
    """Run an example script unchanged, as a user would: only OPENAI_BASE_URL and OPENAI_API_KEY set for it.
    Returns what it printed; fails the test if it exits with an error."""
    env = {**os.environ, "OPENAI_BASE_URL": api_url, "OPENAI_API_KEY": token}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, text
    return text
