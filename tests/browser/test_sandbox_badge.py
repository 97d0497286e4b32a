"""The sidebar says whether the notebook's kernel is sandboxed and offers to switch to the sandboxed kernel; a run
there shows what it spent (tokens and estimated cost), per run and for the thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, LabServer, model_env, serve
from tests.browser.ui import SIDEBAR, open_notebook, send, wait_kernel_idle, wait_run_status
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.test_sandbox import WHY_NOT, install

pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no sandbox here: {WHY_NOT}")

BADGE = f"{SIDEBAR} .jp-codeinterp-sandbox"


@pytest.fixture(scope="module")
def lab_sandbox(browser_base: Path, model: ScriptedLLM) -> Iterator[LabServer]:
    """A server with the sandboxed kernel installed and a price for the model."""
    data, config = browser_base / "sandbox-data", browser_base / "sandbox-config"
    config.mkdir()
    (config / "jupyter_codeinterp_config.py").write_text(
        "c.CodeInterpreter.prices = {'scripted-model': {'input': 2.5, 'output': 10.0}}\n"
    )
    assert install(data).returncode == 0
    yield from serve(
        browser_base, {**model_env(model), "JUPYTER_DATA_DIR": str(data), "JUPYTER_CONFIG_DIR": str(config)}, "sandbox"
    )


def test_switching_to_the_sandboxed_kernel_and_what_a_run_there_spent(
    page: Any, lab_sandbox: LabServer, script: ScriptedLLM
) -> None:
    path = lab_sandbox.new_notebook("sandbox", title="# Untrusted data, sandboxed")
    open_notebook(page, lab_sandbox, path)

    page.locator(f"{BADGE}[data-sandbox='available']").wait_for()
    assert page.locator(f"{BADGE} .jp-codeinterp-unsandboxed").inner_text() == "Not sandboxed"
    page.locator(f"{BADGE} .jp-codeinterp-use-sandbox").click()
    page.locator(".jp-Dialog").wait_for()
    assert "Variables in the current kernel are lost" in page.locator(".jp-Dialog").inner_text()
    page.locator(".jp-Dialog button.jp-mod-accept").click()
    page.locator(f"{BADGE}[data-sandbox='sandboxed'] .jp-codeinterp-sandboxed").wait_for(timeout=30_000)
    wait_kernel_idle(page)
    assert "Python 3 (sandboxed)" in page.locator(f"{SIDEBAR} .jp-codeinterp-kernel").inner_text()

    script.script(
        code(
            "import urllib.request\ntry:\n    urllib.request.urlopen('http://example.com', timeout=5)\n"
            "except OSError as e:\n    print('no network:', type(e).__name__)"
        ),
        answer("The sandbox has **no network**: the request failed at once."),
    )
    send(page, "Can this kernel reach the internet?")
    wait_run_status(page, "completed")
    step = page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='1']")
    assert "no network: URLError" in step.inner_text()
    usage = page.locator(f"{SIDEBAR} .jp-codeinterp-usage").last.inner_text()
    assert " tokens · $0.0" in usage, usage
    spending = page.locator(f"{SIDEBAR} .jp-codeinterp-thread-spending")
    spending.wait_for()
    assert spending.inner_text().startswith("This thread: 1 run · ") and "$0.0" in spending.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "sandboxed-kernel.png"))
