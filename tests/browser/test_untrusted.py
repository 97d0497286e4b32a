"""Untrusted by default: nothing the model writes or its code outputs can run script in the Jupyter page.

Each payload is JavaScript that records where it ran (``window.__pwned``): in the sidebar, in the ``%%interpret``
renderer or in the notebook. Sanitised, it never runs, live or after a reload, while plots, tables and formatted
text still show. Trusted on purpose (JupyterLab's "Trust Notebook", our "Trust outputs"), the same payload runs:
the proof that the payloads are live and that the tests would see them.
"""

from __future__ import annotations

import json
from typing import Any

import nbformat
from nbformat.sign import NotebookNotary

from jupyter_codeinterp.notebook import RunRecorder, new_notebook
from jupyter_codeinterp.transcript import run_bundle
from tests.browser.conftest import SCREENSHOTS, LabServer
from tests.browser.ui import (
    SIDEBAR,
    notebook_cells,
    open_notebook,
    open_sidebar,
    save,
    send,
    tagged,
    wait_for,
    wait_run_status,
)
from tests.scripted_llm import ScriptedLLM, answer, code

NOTEBOOK = ".jp-NotebookPanel"
MIME = ".jp-codeinterp-mime"
#: Payload images point at a missing file, so their error handler would fire as soon as they load.
MISSING = "x-missing.png"


def pwn(kind: str) -> str:
    """JavaScript for an event-handler attribute: appends '<where>:<kind>' to ``window.__pwned``."""
    where = (
        "(this.closest('.jp-codeinterp-mime') ? 'magic' : this.closest('#jp-codeinterp-sidebar') ? 'sidebar'"
        " : 'notebook')"
    )
    return f"window.__pwned = (window.__pwned || []).concat([{where} + ':{kind}'])"


def evil_img(kind: str) -> str:
    return f'<img src="{MISSING}" onerror="{pwn(kind)}">'


#: No spaces: a markdown link destination cannot hold any.
JS_LINK = "javascript:void(window.__pwned=['link'])"

HTML_PAYLOAD = (
    '<p class="safe-html">Safe <b>bold</b> HTML</p>'
    + evil_img("html")
    + f'<a class="evil-link" href="{JS_LINK}">a javascript: link</a>'
    + "<script>window.__pwned = ['script']</script>"
    # A click on this would run a JupyterLab command (here a visible, harmless one).
    + """<button class="evil-command" data-commandlinker-command="apputils:change-theme" """
    + """data-commandlinker-args='{"theme": "JupyterLab Dark"}'>a command button</button>"""
)
MARKDOWN_PAYLOAD = f"**Safe markdown** {evil_img('markdown')} [a markdown link]({JS_LINK})"
SVG_PAYLOAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" '
    f'onload="{pwn("svg")}"><rect width="20" height="20"/></svg>'
)

OUTPUTS_CODE = f"""\
from IPython.display import HTML, Markdown, display
display(HTML({HTML_PAYLOAD!r}))
display(Markdown({MARKDOWN_PAYLOAD!r}))
display({{"application/javascript": "window.__pwned = ['js']", "text/plain": "JavaScript output, not run"}}, raw=True)
display({{"image/svg+xml": {SVG_PAYLOAD!r}, "text/plain": "SVG output, not rendered"}}, raw=True)
"""

CSV = 'name,comment\nAda,"' + evil_img("csv").replace('"', '""') + '"\nGrace,fine\n'
PAGE = '<h3 class="page-title">A page it read</h3>' + evil_img("page")
FILE_CODE = f"""\
import pandas as pd
from IPython.display import HTML, display
with open("customers.csv", "w") as f:
    f.write({CSV!r})
with open("page.html", "w") as f:
    f.write({PAGE!r})
display(HTML(open("page.html").read()))
df = pd.read_csv("customers.csv")
df
"""

PLOT_CODE = """\
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3, 1.6))
ax.plot([1, 3, 2], color="#4c78a8")
plt.show()
"""

MODEL_TEXT = f"Looking at the data {evil_img('text')}"
ANSWER = f"**Bold answer**: all shown. {evil_img('answer')} [an answer link]({JS_LINK})"


def pwned(page: Any) -> list[str]:
    return list(page.evaluate("() => window.__pwned || []"))


def settle(page: Any) -> None:
    """Wait until every payload image has failed to load, so that its handler would have run by now."""
    page.wait_for_function(
        """(missing) => [...document.querySelectorAll('img')]
            .filter(i => (i.getAttribute('src') || '').includes(missing))
            .every(i => i.complete)""",
        arg=MISSING,
    )
    page.wait_for_timeout(200)


def active_content(page: Any, scope: str) -> dict[str, int]:
    """What is left in ``scope`` that could run script, and how many payload images reached it (sanitised)."""
    return dict(
        page.evaluate(
            """([scope, missing]) => {
            const roots = [...document.querySelectorAll(scope)];
            const all = roots.flatMap(r => [...r.querySelectorAll('*')]);
            const jsUrl = v => /^\\s*javascript:/i.test(v || '');
            return {
                handlers: all.filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
                jsUrls: all.filter(e => jsUrl(e.getAttribute('href')) || jsUrl(e.getAttribute('src'))).length,
                scripts: all.filter(e => e.tagName === 'SCRIPT').length,
                commandLinks: all.filter(e => e.hasAttribute('data-commandlinker-command')).length,
                payloadImages: all.filter(e => (e.getAttribute('src') || '').includes(missing)).length,
            };
        }""",
            [scope, MISSING],
        )
    )


def assert_inert(page: Any, scope: str, payload_images: int) -> None:
    settle(page)
    assert pwned(page) == [], pwned(page)
    found = active_content(page, scope)
    # Command links: our views strip them; notebook cells follow JupyterLab's setting (allowCommandLinker, on).
    ours = scope in (SIDEBAR, MIME)
    expected = {"handlers": 0, "jsUrls": 0, "scripts": 0, "commandLinks": 0 if ours else found["commandLinks"]}
    assert found == {**expected, "payloadImages": found["payloadImages"]}, found
    # The payloads reached the renderers (sanitised, not dropped): the test saw what it means to test.
    assert found["payloadImages"] >= payload_images, found


def assert_safe_output_shows(page: Any, scope: str) -> None:
    """Formatted HTML and markdown, a pandas table (its hostile cell as text), a plot: all rendered."""
    root = page.locator(scope)
    assert root.locator("p.safe-html b", has_text="bold").count() == 1
    assert root.locator(".jp-RenderedMarkdown strong", has_text="Safe markdown").count() == 1
    assert root.locator("h3.page-title").count() == 1
    table = root.locator("table.dataframe")
    assert table.count() == 1 and "Grace" in table.inner_text()
    assert "<img" in table.inner_text()  # pandas escaped the cell: shown as text
    assert root.locator(".jp-RenderedImage img").count() == 1
    assert "JavaScript output, not run" in root.inner_text()
    assert "SVG output, not rendered" in root.inner_text()
    assert root.locator(".jp-RenderedSVG").count() == 0


def cell_trust(page: Any) -> list[bool]:
    """The ``trusted`` state of the active notebook's code cells written by a run."""
    return list(
        page.evaluate(
            """() => {
            const model = window.jupyterapp.shell.currentWidget.content.model;
            const out = [];
            for (const cell of model.cells) {
                const tag = cell.getMetadata('codeinterp');
                if (tag && tag.role === 'code') out.push(cell.trusted);
            }
            return out;
        }"""
        )
    )


def click_dialog_button(page: Any, label: str) -> None:
    page.locator(".jp-Dialog .jp-Dialog-buttonLabel").get_by_text(label, exact=True).click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_hostile_outputs_and_text_render_untrusted_live_and_on_replay(
    page: Any, lab: LabServer, script: ScriptedLLM
) -> None:
    script.script(
        code(OUTPUTS_CODE, text=MODEL_TEXT, chunk=40),
        code(FILE_CODE, chunk=40),
        code(PLOT_CODE, chunk=40),
        answer(ANSWER, chunk=20),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    path = lab.new_notebook("hostile")
    open_notebook(page, lab, path)
    send(page, "Show me the customers")
    wait_run_status(page, "completed")
    wait_for(lambda: len(tagged(notebook_cells(page), "answer")) == 1, message="the answer cell")
    page.locator(f"{NOTEBOOK} .jp-MarkdownOutput strong", has_text="Bold answer").wait_for()

    # Live: the sidebar (outputs, the model's text, the answer) and the cells it wrote.
    assert_inert(page, SIDEBAR, payload_images=5)  # html, markdown, page, the model's text, the answer
    assert_inert(page, NOTEBOOK, payload_images=4)  # html, markdown, page, the answer cell
    assert_safe_output_shows(page, SIDEBAR)
    assert_safe_output_shows(page, NOTEBOOK)
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-text strong", has_text="Bold answer").count() == 1
    assert cell_trust(page) == [False, False, False]
    page.locator(f"{SIDEBAR} .jp-codeinterp-step[data-step='2']").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "sidebar-untrusted-light.png"))
    page.evaluate("() => { const area = document.querySelector('.jp-codeinterp-thread-area'); area.scrollTop = 1e6; }")
    page.locator(f"{SIDEBAR} .jp-codeinterp-trust").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "sidebar-trust-light.png"))

    # Replay: saved, reloaded. The file is not signed as trusted, so nothing comes back trusted.
    save(page)
    wait_for(lambda: len(tagged(lab.read_notebook(path)["cells"], "answer")) == 1, message="saved")
    saved = tagged(lab.read_notebook(path)["cells"], "code")
    assert [c["metadata"].get("trusted") for c in saved] == [False, False, False]
    page.reload()
    page.wait_for_selector(f"{NOTEBOOK} .jp-Notebook .jp-Cell", state="attached")
    open_sidebar(page)
    wait_run_status(page, "completed")
    page.locator(f"{SIDEBAR} table.dataframe").wait_for()
    page.locator(f"{NOTEBOOK} table.dataframe").wait_for()
    page.locator(f"{NOTEBOOK} .jp-MarkdownOutput strong", has_text="Bold answer").wait_for()
    assert_inert(page, SIDEBAR, payload_images=4)  # a run's record keeps its answer, not the text between steps
    assert_inert(page, NOTEBOOK, payload_images=4)
    assert_safe_output_shows(page, SIDEBAR)
    assert_safe_output_shows(page, NOTEBOOK)

    # JupyterLab's own Trust Notebook still works on the cells we wrote, and only on them.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:trust'); }")
    click_dialog_button(page, "Trust")
    wait_for(lambda: "notebook:html" in pwned(page), message="the trusted notebook's HTML output to run")
    assert cell_trust(page) == [True, True, True]
    assert not [p for p in pwned(page) if p.startswith("sidebar")]
    assert "notebook:answer" not in pwned(page)  # markdown cells are always sanitised

    # "Trust outputs" on the run in the sidebar re-renders its outputs trusted; the model's text stays sanitised.
    page.locator(f"{SIDEBAR} .jp-codeinterp-trust").click()
    click_dialog_button(page, "Trust outputs")
    wait_for(lambda: "sidebar:html" in pwned(page), message="the trusted run's HTML output to run")
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-trusted").is_visible()
    assert page.locator(f"{SIDEBAR} .jp-codeinterp-trust").count() == 0
    settle(page)
    assert not {"sidebar:text", "sidebar:answer"} & set(pwned(page))


def test_trust_outputs_trusts_the_run_in_the_sidebar_and_its_cells(
    page: Any, lab: LabServer, script: ScriptedLLM
) -> None:
    script.script(
        code(f"from IPython.display import HTML\nHTML({HTML_PAYLOAD!r})"),
        code("print('plain text only')"),
        answer(ANSWER),
    )
    path = lab.new_notebook("trust")
    open_notebook(page, lab, path)
    send(page, "Show the page")
    wait_run_status(page, "completed")
    wait_for(lambda: len(tagged(notebook_cells(page), "answer")) == 1, message="the answer cell")
    page.locator(f"{NOTEBOOK} p.safe-html").wait_for()
    assert_inert(page, SIDEBAR, payload_images=2)
    assert_inert(page, NOTEBOOK, payload_images=2)
    # The javascript: link lost its href; clicking it does nothing.
    link = page.locator(f"{SIDEBAR} a.evil-link")
    assert link.get_attribute("href") is None
    link.click()
    assert pwned(page) == [], pwned(page)
    # The command button lost its command; clicking it does nothing.
    page.locator(f"{SIDEBAR} button.evil-command").click()
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.body.dataset.jpThemeName") == "JupyterLab Light"

    trust = page.locator(f"{SIDEBAR} .jp-codeinterp-trust")
    assert trust.count() == 1
    # Cancelling changes nothing.
    trust.click()
    click_dialog_button(page, "Cancel")
    assert pwned(page) == [] and cell_trust(page) == [False, False]

    trust.click()
    click_dialog_button(page, "Trust outputs")
    wait_for(lambda: {"sidebar:html", "notebook:html"} <= set(pwned(page)), message="both trusted outputs to run")
    assert cell_trust(page) == [True, True]
    settle(page)
    assert not {"sidebar:answer", "notebook:answer"} & set(pwned(page))


def _magic_notebook(lab: LabServer) -> str:
    path = lab.new_notebook("magic-untrusted")
    content = lab.read_notebook(path)
    content["cells"] = [
        nbformat.v4.new_code_cell("%load_ext jupyter_codeinterp"),
        nbformat.v4.new_code_cell("%%interpret\nShow the customers, the page and a plot."),
    ]
    lab.api("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": content})
    return path


def _render_trusted_markdown(page: Any, markdown: str) -> None:
    """Render markdown as a frontend without our renderer would render the magic's output: trusted."""
    page.evaluate(
        """(md) => {
        const rendermime = window.jupyterapp.shell.currentWidget.content.rendermime;
        const renderer = rendermime.createRenderer('text/markdown');
        renderer.node.classList.add('codeinterp-fallback');
        document.body.appendChild(renderer.node);
        return renderer.renderModel({trusted: true, data: {'text/markdown': md}, metadata: {}, setData() {}});
    }""",
        markdown,
    )


def test_magic_renderer_and_its_cells_render_untrusted(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code(OUTPUTS_CODE, text=MODEL_TEXT, chunk=40),
        code(FILE_CODE, chunk=40),
        code(PLOT_CODE, chunk=40),
        answer(ANSWER, chunk=20),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    path = _magic_notebook(lab)
    open_notebook(page, lab, path)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    renderer = page.locator(f"{NOTEBOOK} {MIME}")
    renderer.locator(".jp-codeinterp-run[data-status='completed']").wait_for(timeout=30_000)
    wait_for(lambda: len(tagged(notebook_cells(page), "code")) == 3, message="the appended cells")
    page.locator(f"{NOTEBOOK} .jp-Cell:not(:has({MIME})) table.dataframe").wait_for()

    # The magic's cell was run by the user, so its output is trusted: the run inside it is not.
    assert_inert(page, MIME, payload_images=5)
    assert_inert(page, NOTEBOOK, payload_images=5 + 3)  # the renderer's, and the appended cells' html/md/page
    assert_safe_output_shows(page, MIME)
    assert cell_trust(page) == [False, False, False]

    # Replay: saved, reloaded, rendered again from the saved bundle.
    save(page)
    wait_for(lambda: len(tagged(lab.read_notebook(path)["cells"], "code")) == 3, message="saved")
    page.reload()
    page.locator(f"{NOTEBOOK} {MIME} .jp-codeinterp-run[data-status='completed']").wait_for(timeout=30_000)
    page.locator(f"{NOTEBOOK} {MIME} table.dataframe").wait_for()
    assert_inert(page, MIME, payload_images=5)
    assert_inert(page, NOTEBOOK, payload_images=5 + 3)
    assert_safe_output_shows(page, MIME)

    # The transcript fallback (for frontends without our renderer) is inert even rendered as trusted markdown.
    [magic] = [c for c in notebook_cells(page) if "".join(c["source"]).startswith("%%interpret")]
    fallback = "".join(magic["outputs"][-1]["data"]["text/markdown"])
    _render_trusted_markdown(page, fallback)
    page.locator(".codeinterp-fallback strong", has_text="Bold answer").wait_for()
    assert_inert(page, ".codeinterp-fallback", payload_images=0)
    # (the same page renders a raw payload as trusted markdown, which runs: the check above can see it)
    _render_trusted_markdown(page, evil_img("control"))
    wait_for(lambda: pwned(page) == ["notebook:control"], message="the control payload to run")
    page.evaluate("() => { delete window.__pwned; document.querySelector('.codeinterp-fallback').remove(); }")
    page.evaluate("() => document.querySelector('.codeinterp-fallback').remove()")

    # "Trust outputs" in the renderer trusts the run there and its appended cells.
    renderer.locator(".jp-codeinterp-trust").click()
    click_dialog_button(page, "Trust outputs")
    wait_for(lambda: {"magic:html", "notebook:html"} <= set(pwned(page)), message="the trusted outputs to run")
    assert cell_trust(page) == [True, True, True]
    settle(page)
    assert not {"magic:text", "magic:answer"} & set(pwned(page))


# -- the Python writers (no browser) ---------------------------------------------------------------------------------


def _html_step(run_id: str) -> dict[str, Any]:
    output = {"output_type": "display_data", "data": {"text/html": HTML_PAYLOAD, "text/plain": "x"}, "metadata": {}}
    return {
        "seq": 1,
        "type": "step",
        "run_id": run_id,
        "step": 1,
        "stage": "completed",
        "status": "ok",
        "code": "HTML(...)",
        "outputs": [output],
        "execution_count": 1,
    }


def test_the_cli_writes_cells_a_notebook_opens_untrusted() -> None:
    nb = new_notebook()
    RunRecorder(nb).apply(_html_step("run_1"))
    [cell] = nb.cells
    assert "trusted" not in cell.metadata
    # What Jupyter's notary decides on save: not every cell is trusted, so the notebook is not signed.
    assert NotebookNotary().check_cells(nbformat.from_dict(json.loads(json.dumps(nb)))) is False


def test_the_magic_transcript_is_inert_markdown() -> None:
    events: list[dict[str, Any]] = [
        {"seq": 1, "type": "run_started", "run_id": "r", "prompt": "p", "model": "m`<b>"},
        {"seq": 2, "type": "text_delta", "run_id": "r", "delta": MODEL_TEXT},
        {**_html_step("r"), "seq": 3},
        {
            "seq": 4,
            "type": "step",
            "run_id": "r",
            "step": 2,
            "stage": "completed",
            "status": "error",
            "code": "raise ValueError(...)",
            "outputs": [
                {"output_type": "error", "ename": "ValueError", "evalue": evil_img("evalue"), "traceback": []},
                {"output_type": "display_data", "data": {"image/png": f"x) {evil_img('png')} ("}, "metadata": {}},
            ],
        },
        {"seq": 5, "type": "text_delta", "run_id": "r", "delta": ANSWER + "\n\n[ref]: javascript:alert(1)\n"},
        {"seq": 6, "type": "run_ended", "run_id": "r", "status": "completed", "answer": ANSWER, "reason": ""},
    ]
    markdown = run_bundle("r", events)["text/markdown"]
    assert "<img" not in markdown and "<b>" not in markdown
    assert "javascript:" not in markdown
    assert "**Bold answer**" in markdown  # still formatted
