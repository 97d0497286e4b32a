"""Start JupyterLab from another environment (a fresh Binder or wheel venv) and check it in Chromium.

Used by scripts/binder_smoke.sh and scripts/release_check.sh; runs with the repository's own Python (which has
Playwright and the scripted model), while the server runs with ``--python``. It checks that the server enabled our
extension by itself (nothing forces it on), that the page loads the labextension build of that environment, that
the sidebar opens on the notebook given, optionally that a prompt runs against the scripted model, and that neither
the browser console nor the server log shows an error. Exits 1 with the reason otherwise.

    python scripts/lab_smoke.py --python VENV/bin/python --root DIR --open examples/demo.ipynb [--ask PROMPT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, SIDEBAR_ID  # noqa: E402
from tests.browser.ui import SIDEBAR, notebook_cells, open_sidebar, send, tagged, wait_for, widen_sidebar  # noqa: E402
from tests.scripted_llm import ScriptedLLM, answer, code  # noqa: E402

TOKEN = "smoke-test-token"
LOG_PROBLEM = re.compile(r"^\[E |ERROR|Traceback", re.MULTILINE)

#: The scripted model's replies to the demo's first suggested prompt: pandas and matplotlib in that environment.
MONTHLY = """\
import pandas as pd
import matplotlib.pyplot as plt
sales = pd.read_csv("data/sales.csv", parse_dates=["date"])
monthly = sales.groupby(sales.date.dt.to_period("M"))["revenue"].sum()
print("best month:", monthly.idxmax(), monthly.max())
monthly.plot(kind="bar", figsize=(6, 3), title="Revenue by month")
plt.show()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_labextension_load(python: str) -> str:
    """The ``_build.load`` of the labextension installed in that environment (static/remoteEntry.<hash>.js)."""
    prefix = subprocess.run(
        [python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    package = Path(prefix, "share", "jupyter", "labextensions", "jupyter-codeinterp", "package.json")
    if not package.is_file():
        raise SystemExit(f"smoke: no labextension in {package.parent}")
    return str(json.loads(package.read_text())["jupyterlab"]["_build"]["load"])


class Server:
    """``jupyter lab`` of that environment, with its own settings, data and config folders and a free port."""

    def __init__(self, python: str, root: Path, work: Path, env: dict[str, str], path: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("settings/@jupyterlab/apputils-extension", "workspaces", "config", "data", "runtime"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        (work / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false"}'
        )
        config = work / "smoke_config.py"
        config.write_text(
            "c.ServerApp.allow_root = True\n"
            "c.ServerApp.open_browser = False\n"
            f"c.ServerApp.port = {self.port}\n"
            "c.ServerApp.ip = '127.0.0.1'\n"
            f"c.ServerApp.root_dir = {str(root)!r}\n"
            f"c.IdentityProvider.token = {TOKEN!r}\n"
            "c.LabApp.news_url = None\n"
            "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
            "c.LabApp.expose_app_in_browser = True\n"
            f"c.CodeInterpreterApp.db_path = {str(work / 'store.sqlite')!r}\n"
            "c.CodeInterpreter.max_retries = 0\n"
        )
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEINTERP_", "JUPYTER"))}
        full_env.update(
            {
                "PATH": path,
                "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
                "JUPYTER_CONFIG_DIR": str(work / "config"),
                "JUPYTER_DATA_DIR": str(work / "data"),
                "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
                "PYTHONUNBUFFERED": "1",
                **env,
            }
        )
        self.log_path = work / "server.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [python, "-m", "jupyterlab", f"--config={config}"],
            env=full_env,
            cwd=str(root),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"smoke: jupyter lab exited ({self.proc.returncode}):\n{self.log()}")
            try:
                req = urllib.request.Request(f"{self.url}/api/status", headers={"Authorization": f"token {TOKEN}"})
                urllib.request.urlopen(req, timeout=5).close()
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise SystemExit(f"smoke: jupyter lab did not start in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def check_page(server: Server, args: argparse.Namespace, expected_load: str, llm: ScriptedLLM | None) -> list[str]:
    """Drive the page; return the console and page errors seen."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.goto(f"{server.url}/lab/tree/{args.open}?reset&token={TOKEN}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined")

            config = json.loads(page.locator("#jupyter-config-data").text_content() or "{}")
            loads = {e["name"]: e["load"] for e in config.get("federated_extensions", [])}
            if loads.get("jupyter-codeinterp") != expected_load:
                raise SystemExit(f"smoke: the page loads {loads.get('jupyter-codeinterp')!r}, not {expected_load!r}")

            page.locator(f'li.lm-TabBar-tab[data-id="{SIDEBAR_ID}"]').wait_for()
            name = os.path.basename(args.open)
            page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).wait_for()
            page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
            if args.expect_heading:
                page.locator(".jp-NotebookPanel .jp-RenderedMarkdown h1", has_text=args.expect_heading).wait_for()
            open_sidebar(page)
            widen_sidebar(page)
            page.locator(f"{SIDEBAR} .jp-codeinterp-notebook", has_text=name).wait_for()
            page.locator(f"{SIDEBAR} .jp-codeinterp-kernel[data-status='idle']").wait_for(timeout=60_000)
            if llm is not None:
                send(page, args.ask)
                page.locator(f"{SIDEBAR} .jp-codeinterp-run[data-status='completed']").last.wait_for(timeout=60_000)
                cells = wait_for(
                    lambda: (c := notebook_cells(page)) and len(tagged(c, "answer")) == 1 and c, message="cells"
                )
                [step] = tagged(cells, "code")
                outputs = json.dumps(step["outputs"])
                if "best month: 2025-12" not in outputs or "image/png" not in outputs:
                    raise SystemExit(f"smoke: the step's outputs lack the answer or the plot: {outputs[:500]}")
            page.wait_for_timeout(1000)
            if args.screenshot:
                page.screenshot(path=args.screenshot)
        finally:
            browser.close()
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="the Python of the environment under test")
    parser.add_argument("--root", required=True, type=Path, help="the server's root folder")
    parser.add_argument("--open", required=True, help="notebook to open, relative to the root")
    parser.add_argument("--expect-heading", help="text of a heading the notebook renders")
    parser.add_argument("--ask", help="send this prompt from the sidebar (the scripted model answers)")
    parser.add_argument("--no-node", action="store_true", help="the server's PATH holds only its environment")
    parser.add_argument("--screenshot", help="save a screenshot of the page here")
    args = parser.parse_args()

    bin_dir = os.path.dirname(args.python)
    path = bin_dir if args.no_node else bin_dir + os.pathsep + os.environ.get("PATH", "")
    if args.no_node and shutil.which("node", path=path):
        raise SystemExit(f"smoke: node is on the server's PATH ({path})")
    expected_load = env_labextension_load(args.python)
    llm = ScriptedLLM().start() if args.ask else None
    env: dict[str, str] = {}
    if llm is not None:
        llm.script(code(MONTHLY), answer("**December** had the highest revenue (25,334.50)."))
        env = {"OPENAI_BASE_URL": llm.url, "CODEINTERP_MODEL": "scripted-model"}
    with tempfile.TemporaryDirectory(prefix="lab-smoke-") as tmp:
        server = Server(args.python, args.root.resolve(), Path(tmp), env, path)
        try:
            server.wait_ready()
            errors = check_page(server, args, expected_load, llm)
        finally:
            server.stop()
            if llm is not None:
                llm.stop()
        log = server.log_path.read_text()
    problems = list(errors)
    if LOG_PROBLEM.search(log):
        problems.append("the server log has an error:\n" + log[-4000:])
    if "jupyter_codeinterp: model" not in log:
        problems.append("the server did not load jupyter_codeinterp by itself:\n" + log[-4000:])
    for problem in problems:
        print(f"smoke: {problem}", file=sys.stderr)
    if not problems:
        print(f"smoke: ok: JupyterLab from {bin_dir} loaded {expected_load}, opened {args.open}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
