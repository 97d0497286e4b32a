"""Bring your own key in the browser: on a server with nothing configured (as on Binder), the user connects a model
from the sidebar's form, tests it (the endpoint's models are listed), connects, and a prompt runs to the end."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import KEY, SCREENSHOTS, LabServer, model_env, serve
from tests.browser.ui import SIDEBAR, open_notebook, send, wait_run_status
from tests.scripted_llm import ScriptedLLM, answer, code

FORM = f"{SIDEBAR} .jp-codeinterp-connect"
WRONG_KEY = "sk-wrong-browser-key-9f8e7d"


@pytest.fixture(scope="module")
def data_dir(browser_base: Path) -> Path:
    return browser_base / "connect-data"


@pytest.fixture(scope="module")
def lab_unconfigured(browser_base: Path, data_dir: Path) -> Iterator[LabServer]:
    """No OPENAI_* or CODEINTERP_* variables; a data dir of its own, where a remembered connection goes."""
    yield from serve(browser_base, {"JUPYTER_DATA_DIR": str(data_dir)}, "connect")


def test_connect_a_model_from_the_sidebar_then_run_a_prompt(
    page: Any, lab_unconfigured: LabServer, script: ScriptedLLM, data_dir: Path
) -> None:
    lab = lab_unconfigured
    open_notebook(page, lab, lab.new_notebook("connect"))
    banner = page.locator(f"{SIDEBAR} .jp-codeinterp-config-problem")
    assert "jupyter codeinterp doctor" in banner.inner_text()

    banner.locator(".jp-codeinterp-open-connect").click()
    form = page.locator(FORM)
    form.wait_for(state="visible")
    assert "Now: no model" in form.locator(".jp-codeinterp-connect-current").inner_text()

    # A wrong key first: the endpoint's answer is shown, and the key is nowhere in the page.
    form.get_by_label("Base URL").fill(script.url)
    form.get_by_label("API key").fill(WRONG_KEY)
    form.get_by_role("button", name="Test connection").click()
    failed = form.locator(".jp-codeinterp-connect-failed")
    failed.wait_for()
    assert "rejected the API key (401)" in failed.inner_text()

    # The right key: the endpoint's models are listed; one click picks the model.
    form.get_by_label("API key").fill(KEY)
    form.get_by_role("button", name="Test connection").click()
    form.locator(".jp-codeinterp-connect-ok").wait_for()
    form.locator(".jp-codeinterp-connect-model", has_text="scripted-model").click()
    assert form.get_by_label("Model", exact=True).input_value() == "scripted-model"
    form.get_by_label("Remember on this server", exact=False).check()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "connect-model-light.png"))

    form.get_by_role("button", name="Connect", exact=True).click()
    form.wait_for(state="hidden")
    banner.wait_for(state="detached")
    assert form.get_by_label("API key").input_value() == "", "the key does not stay in the page"
    host = script.url.split("/")[2]
    page.locator(f"{SIDEBAR} .jp-codeinterp-model", has_text=f"scripted-model · {host}").wait_for()
    saved = data_dir / "codeinterp" / "connection.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    script.script(code("print(6 * 7)"), answer("It is 42."))
    send(page, "What is six times seven?")
    wait_run_status(page, "completed")
    assert "It is 42." in page.locator(f"{SIDEBAR} .jp-codeinterp-run").last.inner_text()

    # The palette command opens the form again: it says what is connected, and Forget goes back to nothing.
    page.evaluate("() => window.jupyterapp.commands.execute('codeinterp:connect')")
    form.wait_for(state="visible")
    current = form.locator(".jp-codeinterp-connect-current")
    current.filter(has_text="connected here, remembered").wait_for()
    assert f"scripted-model at {host}" in current.inner_text()
    html = page.content()
    assert KEY not in html and WRONG_KEY not in html, "the key never comes back to the browser"
    form.get_by_role("button", name="Forget").click()
    current.filter(has_text="(the server").wait_for()
    assert not saved.exists()
    banner.wait_for()


@pytest.fixture(scope="module")
def lab_locked(browser_base: Path, model: ScriptedLLM) -> Iterator[LabServer]:
    """The admin set the model and locked it (in the shared config file, found through JUPYTER_CONFIG_PATH)."""
    config_dir = browser_base / "locked-config"
    config_dir.mkdir()
    (config_dir / "jupyter_codeinterp_config.json").write_text('{"CodeInterpreterApp": {"lock_connection": true}}')
    env = {**model_env(model), "JUPYTER_CONFIG_PATH": str(config_dir), "JUPYTER_DATA_DIR": str(browser_base / "ld")}
    yield from serve(browser_base, env, "locked")


def test_when_the_admin_locked_the_connection_the_form_only_says_so(page: Any, lab_locked: LabServer) -> None:
    open_notebook(page, lab_locked, lab_locked.new_notebook("locked"))
    page.evaluate("() => window.jupyterapp.commands.execute('codeinterp:connect')")
    form = page.locator(FORM)
    form.locator(".jp-codeinterp-connect-locked", has_text="The administrator set the model").wait_for()
    assert form.get_attribute("data-locked") == "true"
    assert form.locator("input").evaluate_all("inputs => inputs.filter(i => i.offsetParent !== null).length") == 0
    assert "scripted-model at 127.0.0.1" in form.locator(".jp-codeinterp-connect-current").inner_text()
    form.get_by_role("button", name="Close").click()
    form.wait_for(state="hidden")
