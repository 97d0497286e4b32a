"""Page helpers for the browser tests: open a notebook, the sidebar, send a prompt, read cells."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.browser.conftest import SIDEBAR_ID, LabServer

SIDEBAR = f"#{SIDEBAR_ID}"


def open_notebook(page: Any, lab: LabServer, path: str, *, theme: str | None = None) -> None:
    """Load JupyterLab on a notebook, wait for its kernel to be idle and open the sidebar."""
    page.goto(lab.lab_url(path))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", state="attached")
    if theme:
        set_theme(page, theme)
    open_sidebar(page)
    widen_sidebar(page)
    wait_kernel_idle(page)


def set_theme(page: Any, theme: str) -> None:
    page.evaluate("t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme)
    page.wait_for_function("t => document.body.dataset.jpThemeName === t", arg=theme, timeout=20_000)
    page.wait_for_timeout(300)


def widen_sidebar(page: Any, width: int = 430) -> None:
    """Drag the left area's split handle so the sidebar is ``width`` pixels wide."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(width + 34, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()


def open_sidebar(page: Any) -> None:
    tab = page.locator(f'li.lm-TabBar-tab[data-id="{SIDEBAR_ID}"]')
    tab.wait_for()
    if page.locator(SIDEBAR).is_hidden():
        tab.click()
    page.locator(SIDEBAR).wait_for(state="visible")


def wait_kernel_idle(page: Any, timeout: float = 30_000) -> None:
    page.locator(f"{SIDEBAR} .jp-codeinterp-kernel[data-status='idle']").wait_for(timeout=timeout)


def send(page: Any, prompt: str) -> float:
    """Type a prompt and press Enter; return the page's clock (ms) at the key press."""
    box = page.locator(f"{SIDEBAR} textarea.jp-codeinterp-input")
    box.fill(prompt)
    page.locator(f"{SIDEBAR} .jp-codeinterp-send:not([disabled])").wait_for()
    t0 = page.evaluate("() => performance.now()")
    box.press("Enter")
    return float(t0)


def wait_run_status(page: Any, status: str, timeout: float = 30_000) -> None:
    page.locator(f"{SIDEBAR} .jp-codeinterp-run[data-status='{status}']").last.wait_for(timeout=timeout)


def notebook_cells(page: Any, path: str | None = None) -> list[dict[str, Any]]:
    """A notebook's cells as JSON, from its model in the page (the active notebook by default)."""
    data = page.evaluate(
        """(path) => {
        const app = window.jupyterapp;
        let nb = null;
        for (const w of app.shell.widgets('main')) {
            const match = path ? w.context && w.context.path === path : w === app.shell.currentWidget;
            if (match && w.content && w.content.model) nb = w;
        }
        return nb ? JSON.stringify(nb.content.model.toJSON().cells) : '[]';
    }""",
        path,
    )
    return json.loads(data)


def open_other(page: Any, path: str) -> None:
    """Open (or activate) another notebook in the same page."""
    page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})", path)
    page.locator(f"{SIDEBAR} .jp-codeinterp-notebook", has_text=path).wait_for()


def activate_tab(page: Any, path: str) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=path).click()
    page.locator(f"{SIDEBAR} .jp-codeinterp-notebook", has_text=path).wait_for()


def save(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")


def keys_once(cells: list[dict[str, Any]]) -> bool:
    """Every (run, role, step) of our cells appears exactly once."""
    keys = [(t["run_id"], t["role"], t["step"]) for t in (c.get("metadata", {}).get("codeinterp") for c in cells) if t]
    return len(keys) == len(set(keys))


def tagged(cells: list[dict[str, Any]], role: str | None = None) -> list[dict[str, Any]]:
    out = []
    for cell in cells:
        tag = cell.get("metadata", {}).get("codeinterp")
        if tag and (role is None or tag.get("role") == role):
            out.append(cell)
    return out


def written(page: Any, path: str | None = None) -> list[dict[str, Any]] | None:
    """The notebook's cells once the writer is done with them: there are run cells and every one is tagged
    ``ended`` (the writer's last write of a run), else None. For ``wait_for`` before checking for duplicates."""
    cells = notebook_cells(page, path)
    ours = tagged(cells)
    return cells if ours and all(c["metadata"]["codeinterp"].get("ended") for c in ours) else None


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.05, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}; last value: {last!r}")


def output_text(cell: dict[str, Any]) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif "data" in out:
            text = out["data"].get("text/plain", "")
            parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)
