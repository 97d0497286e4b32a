"""Real-Chromium UI tests: a real ``jupyter lab`` subprocess with our extensions, the scripted model server in a
thread of the test process, and Python Playwright driving Debian's Chromium (never a downloaded browser).

One Jupyter server and one browser are shared by the whole browser package (package scope: Playwright's sync API
runs an event loop of its own, which must be gone before the asyncio tests of the other packages run); each test
gets its own page and its own notebook, and scripts the model replies it needs.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY = "sk-browser-test-key"
TOKEN = "browser-test-token"
SIDEBAR_ID = "jp-codeinterp-sidebar"
REPO = Path(__file__).resolve().parents[2]
#: Screenshots land in docs/screenshots only when asked (CODEINTERP_SCREENSHOTS=1), so test runs leave the
#: tree clean; otherwise in a temporary folder.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("CODEINTERP_SCREENSHOTS")
    else Path(os.environ.get("TMPDIR", "/tmp")) / "codeinterp-screenshots"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_page_error(text): an uncaught page error whose message or stack contains text, and no frame of our"
        " extension, is an upstream bug",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        uses_browser = {"browser", "page"} & set(getattr(item, "fixturenames", ()))
        if here in Path(str(item.fspath)).parents and uses_browser:
            item.add_marker(pytest.mark.browser)
            if not os.path.exists(CHROMIUM):
                item.add_marker(
                    pytest.mark.skip(reason=f"{CHROMIUM} is missing: `apt-get install -y chromium` to run UI tests")
                )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LabServer:
    """A ``jupyter lab`` subprocess on a free port with a temporary root, settings, workspaces and store."""

    def __init__(self, base: Path, env: dict[str, str], name: str) -> None:
        self.port = _free_port()
        self.root = base / f"{name}-root"
        self.root.mkdir(parents=True)
        home = base / f"{name}-home"
        (home / "settings").mkdir(parents=True)
        (home / "workspaces").mkdir(parents=True)
        self.settings_dir = home / "settings"
        # No "get notified about Jupyter news?" toast over the page.
        notification = home / "settings" / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)
        (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        self.db_path = base / f"{name}-codeinterp.sqlite"
        config = base / f"{name}_config.py"
        config.write_text(
            "c.ServerApp.allow_root = True\n"
            "c.ServerApp.open_browser = False\n"
            f"c.ServerApp.port = {self.port}\n"
            "c.ServerApp.ip = '127.0.0.1'\n"
            f"c.ServerApp.root_dir = {str(self.root)!r}\n"
            f"c.IdentityProvider.token = {TOKEN!r}\n"
            "c.LabApp.news_url = None\n"
            "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
            "c.LabApp.expose_app_in_browser = True\n"
            "c.JupyterNotebookApp.expose_app_in_browser = True\n"
            "c.ServerApp.jpserver_extensions.update({'jupyter_codeinterp': True, 'jupyterlab': True})\n"
            f"c.CodeInterpreterApp.db_path = {str(self.db_path)!r}\n"
            "c.CodeInterpreter.max_retries = 0\n"
        )
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEINTERP_"))}
        full_env.update(
            {
                "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
                "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "PYTHONUNBUFFERED": "1",
                **env,
            }
        )
        self.log_path = base / f"{name}-server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", f"--config={config}"],
            env=full_env,
            cwd=str(self.root),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-6000:]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    def new_notebook(self, stem: str = "nb", title: str | None = None) -> str:
        """Create a notebook (a title cell if given, else one empty code cell) and return its path."""
        path = f"{stem}-{uuid.uuid4().hex[:6]}.ipynb"
        first: dict[str, Any] = (
            {"cell_type": "markdown", "source": title, "metadata": {}}
            if title
            else {"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None}
        )
        content = {
            "cells": [first],
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        self.api("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": content})
        return path

    def lab_url(self, path: str | None = None) -> str:
        tail = f"/lab/tree/{path}" if path else "/lab"
        return f"{self.url}{tail}?reset&token={TOKEN}"

    def read_notebook(self, path: str) -> dict[str, Any]:
        data: dict[str, Any] = self.api("GET", f"/api/contents/{path}?content=1")
        return data["content"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """pytest-jupyter's autouse loop fixture, made private: Playwright's sync API runs a loop of its own."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def jp_server_cleanup() -> Iterator[None]:
    """pytest-jupyter's autouse in-process server cleanup: these tests run their server in a subprocess."""
    yield


@pytest.fixture(scope="package")
def browser_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="package")
def model() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=KEY) as server:
        yield server


def serve(base: Path, env: dict[str, str], name: str) -> Iterator[LabServer]:
    """A ``jupyter lab`` with ``env``, ready, stopped afterwards whatever happens."""
    server = LabServer(base, env, name)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def model_env(model: ScriptedLLM) -> dict[str, str]:
    return {"OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": KEY, "CODEINTERP_MODEL": "scripted-model"}


@pytest.fixture(scope="package")
def lab_nokey(browser_base: Path) -> Iterator[LabServer]:
    """A server whose configuration cannot work: a model but no key and no local endpoint."""
    yield from serve(browser_base, {"CODEINTERP_MODEL": "gpt-4.1-mini"}, "nokey")


@pytest.fixture(scope="package")
def lab_rtc(browser_base: Path, model: ScriptedLLM) -> Iterator[LabServer]:
    """A server with real-time collaboration (jupyter-collaboration), when it is installed."""
    pytest.importorskip("jupyter_collaboration", reason="jupyter-collaboration is not installed")
    # Labextensions of this environment and of its base (a virtualenv over a system Python).
    jupyter_path = os.pathsep.join(
        os.path.join(prefix, "share", "jupyter") for prefix in dict.fromkeys([sys.prefix, sys.base_prefix])
    )
    yield from serve(browser_base, {**model_env(model), "JUPYTER_PATH": jupyter_path}, "rtc")


@pytest.fixture(scope="package")
def lab(browser_base: Path, model: ScriptedLLM) -> Iterator[LabServer]:
    yield from serve(browser_base, model_env(model), "lab")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    pg.set_default_timeout(20_000)
    try:
        yield pg
    finally:
        context.close()
    allowed = [m.args[0] for m in request.node.iter_markers("allow_page_error")]
    real = [
        e
        for e in errors
        if "ResizeObserver" not in e and ("jupyter-codeinterp" in e or not any(a in e for a in allowed))
    ]
    assert not real, f"uncaught errors in the page: {real}"


@pytest.fixture
def script(model: ScriptedLLM) -> Iterator[ScriptedLLM]:
    """The shared model with an empty script; checks that the test used every reply it scripted."""
    with model._lock:
        model._script.clear()
    yield model
    with model._lock:
        left = len(model._script)
        model._script.clear()
    assert left == 0, f"{left} scripted model replies were not used"


@pytest.fixture(autouse=True)
def _screenshots_dir() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
