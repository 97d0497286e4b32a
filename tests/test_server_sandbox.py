"""A run from the server (as the sidebar starts one) on a sandboxed kernel: the model is called from the server,
the code runs in the sandbox, which has no key in its environment and no way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_codeinterp import sandbox
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api
from tests.test_sandbox import WHY_NOT, install

pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no sandbox here: {WHY_NOT}")


async def test_a_server_run_on_a_sandboxed_kernel(api: Api, llm: ScriptedLLM, jp_data_dir: Path) -> None:
    assert install(jp_data_dir).returncode == 0
    status, kernel = await api.post("api", "kernels", body={"name": sandbox.DEFAULT_NAME})
    assert status == 201, kernel
    llm.script(
        code(
            "import os, urllib.request\nprint('OPENAI_API_KEY' in os.environ)\n"
            "urllib.request.urlopen('http://example.com', timeout=5)"
        ),
        answer("No key, no network."),
    )
    run_id = (await api.start(kernel["id"], "check the sandbox"))["run_id"]
    done = await api.wait(run_id)

    assert done["status"] == "completed"
    [step] = done["steps"]
    assert step["outputs"][0]["text"] == "False\n"
    assert step["status"] == "error" and step["outputs"][-1]["ename"] == "URLError"
