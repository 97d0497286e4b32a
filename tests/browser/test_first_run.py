"""The first run: a fresh JupyterLab with nothing configured (no model, no key) opens cleanly and the sidebar says
what to do, with no error in the browser console and no ERROR or traceback in the server log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, SIDEBAR_ID, LabServer, serve
from tests.browser.ui import SIDEBAR, open_sidebar, wait_kernel_idle, widen_sidebar

#: What the server logs when something went wrong: tornado's "[E ...]" lines, "ERROR", a traceback.
LOG_PROBLEM = re.compile(r"^\[E |ERROR|Traceback", re.MULTILINE)


@pytest.fixture(scope="module")
def lab_fresh(browser_base: Path) -> Iterator[LabServer]:
    """A server as a newcomer starts it: no OPENAI_* or CODEINTERP_* variables, fresh settings and store."""
    yield from serve(browser_base, {}, "first-run")


def test_first_run_without_a_key_explains_what_to_do_and_logs_no_error(page: Any, lab_fresh: LabServer) -> None:
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}") if msg.type == "error" else None)

    page.goto(lab_fresh.lab_url())
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined")
    page.locator(f'li.lm-TabBar-tab[data-id="{SIDEBAR_ID}"]').wait_for()
    page.locator(".jp-Launcher").wait_for()

    # A new notebook from the launcher, as a newcomer makes one, then the sidebar.
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    open_sidebar(page)
    widen_sidebar(page)
    wait_kernel_idle(page)

    banner = page.locator(f"{SIDEBAR} .jp-codeinterp-config-problem")
    banner.wait_for()
    text = banner.inner_text()
    assert "No model configured" in text and "CODEINTERP_MODEL" in text
    assert "OPENAI_API_KEY" in text and "OPENAI_BASE_URL" in text, "it names every setting a first run needs"
    page.locator(f"{SIDEBAR} textarea.jp-codeinterp-input").fill("Which month sold most?")
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-send").is_disabled(), "nothing to send to"
    page.wait_for_timeout(1500)  # late requests (settings, kernels, our config and models) have landed
    page.screenshot(path=str(SCREENSHOTS / "first-run-no-key.png"))

    assert console == [], f"errors in the browser console: {console}"
    log = lab_fresh.log_path.read_text()
    assert not LOG_PROBLEM.search(log), f"the server log has an error:\n{log[-4000:]}"
    assert "jupyter_codeinterp: model ''" in log and "not ready: No model configured" in log
