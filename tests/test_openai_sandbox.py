"""Containers on the sandboxed kernel: ``memory_limit`` becomes the kernel's address-space cap and
``network_policy: disabled`` is the sandbox's no-network; without the sandbox, the limit is reported as not
enforced and a no-network container is refused rather than faked."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from openai import AsyncOpenAI

from jupyter_codeinterp import sandbox
from tests.openai_support import *  # noqa: F403
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import Api
from tests.test_sandbox import WHY_NOT, install

LIMITS = (
    "import resource, urllib.request\nprint(resource.getrlimit(resource.RLIMIT_AS)[0])\n"
    "urllib.request.urlopen('http://example.com', timeout=5)"
)


async def test_without_the_sandbox_the_memory_limit_is_not_enforced_and_no_network_is_refused(
    client: AsyncOpenAI,
) -> None:
    container = await client.containers.create(name="plain", memory_limit="4g")
    assert container.memory_limit == "4g"
    assert container.model_extra is not None and container.model_extra["memory_limit_enforced"] is False
    with pytest.raises(openai.BadRequestError) as refused:
        await client.containers.create(name="offline", network_policy={"type": "disabled"})
    assert "install-sandbox-kernel" in refused.value.message


@pytest.mark.skipif(WHY_NOT is not None, reason=f"no sandbox here: {WHY_NOT}")
async def test_on_the_sandbox_the_memory_limit_caps_the_kernel_and_the_network_is_off(
    client: AsyncOpenAI, llm: ScriptedLLM, api: Api, jp_data_dir: Path
) -> None:
    assert install(jp_data_dir).returncode == 0
    container = await client.containers.create(name="offline", memory_limit="1g", network_policy={"type": "disabled"})
    record = (await api.get("codeinterp", "v1", "containers", container.id))[1]
    assert record["kernel_name"] == sandbox.DEFAULT_NAME and record["memory_limit_enforced"] is True
    llm.script(code(LIMITS), answer("Capped and offline."))
    response = await client.responses.create(
        model="m",
        tools=[{"type": "code_interpreter", "container": container.id}],
        input="Check.",
        include=["code_interpreter_call.outputs"],
    )
    logs = response.output[0].outputs[0].logs
    assert logs.startswith(f"{1 << 30}\n")
    assert "URLError" in logs
