"""The ``%%interpret`` MIME renderer in JupyterLab: the step view in the output, code cells appended below."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import SCREENSHOTS, LabServer
from tests.browser.ui import notebook_cells, open_notebook, output_text, save, tagged, wait_for
from tests.scripted_llm import ScriptedLLM, answer, code, cut

MIME = ".jp-codeinterp-mime"


def _magic_notebook(lab: LabServer) -> str:
    path = lab.new_notebook("magic")
    content = lab.read_notebook(path)
    content["cells"] = [
        {
            "cell_type": "code",
            "source": "%load_ext jupyter_codeinterp",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "source": "%%interpret\nWhat is 21 times 2? Then list the squares of 1 to 4.",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        },
    ]
    lab.api("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": content})
    return path


def test_magic_renders_steps_and_appends_cells_once(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    script.script(
        code("product = 21 * 2\nprint(product)", text="Multiplying."),
        code("squares = [n * n for n in range(1, 5)]\nsquares", chunk=8, delay=0.01),
        # Token-sized pieces over several display updates: the saved bundle folds them into one.
        answer("21 times 2 is **42**, and the squares are `[1, 4, 9, 16]`.", chunk=4, delay=0.05),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    path = _magic_notebook(lab)
    open_notebook(page, lab, path)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    renderer = page.locator(f".jp-Notebook {MIME}")
    renderer.locator(".jp-codeinterp-run[data-status='completed']").wait_for(timeout=30_000)
    assert renderer.locator(".jp-codeinterp-step[data-status='ok']").count() == 2
    assert "42" in renderer.locator(".jp-codeinterp-step[data-step='1'] .jp-codeinterp-outputs").inner_text()
    assert renderer.locator(".jp-codeinterp-text strong", has_text="42").count() == 1
    answer_text = "21 times 2 is 42, and the squares are [1, 4, 9, 16]."
    assert [t.strip() for t in renderer.locator(".jp-codeinterp-text").all_inner_texts() if t.strip()] == [
        "Multiplying.",
        answer_text,
    ], "text streamed live and then folded shows exactly once"

    def appended() -> list[dict[str, Any]]:
        return tagged(notebook_cells(page), "code")

    cells = wait_for(lambda: len(c := appended()) == 2 and all(x["outputs"] for x in c) and c, message="cells")
    all_cells = notebook_cells(page)
    # Right below the magic cell, in step order, with their outputs; no prompt or answer cells.
    assert [c["metadata"].get("codeinterp", {}).get("step") for c in all_cells] == [None, None, 1, 2]
    assert "42" in output_text(cells[0])
    assert "[1, 4, 9, 16]" in output_text(cells[1])
    assert not tagged(all_cells, "prompt") and not tagged(all_cells, "answer")
    page.screenshot(path=str(SCREENSHOTS / "magic-renderer-light.png"))

    # Saved and reopened: the output renders again from the saved bundle, and adds no cell.
    save(page)
    wait_for(lambda: len(tagged(lab.read_notebook(path)["cells"], "code")) == 2, message="saved")
    page.reload()
    page.locator(f".jp-Notebook {MIME} .jp-codeinterp-run[data-status='completed']").wait_for(timeout=30_000)
    # The renderer has decided: the notebook has the run's ended cells, so it keeps them as they are.
    page.locator(f".jp-Notebook {MIME}[data-cells='kept']").wait_for()
    assert len(tagged(notebook_cells(page), "code")) == 2
    assert len(notebook_cells(page)) == 4
    reopened = page.locator(f".jp-Notebook {MIME}")
    assert reopened.locator(".jp-codeinterp-step[data-status='ok']").count() == 2
    assert answer_text in reopened.locator(".jp-codeinterp-text").all_inner_texts()[-1]


def test_a_cut_off_reply_asked_again_is_taken_back(page: Any, lab: LabServer, script: ScriptedLLM) -> None:
    # The model's stream stops mid-answer: the run asks again (the magic's kernel retries), and the view takes
    # back the text the cut-off reply had shown, leaving the notice and the new answer.
    script.script(cut(answer("The answer is 4, or so I think.", chunk=4, delay=0.4), at=16), answer("It is **42**."))
    path = _magic_notebook(lab)
    open_notebook(page, lab, path)
    # Not awaited: the command's promise resolves once the cells have run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    renderer = page.locator(f".jp-Notebook {MIME}")
    renderer.locator(".jp-codeinterp-text", has_text="The answer").wait_for(timeout=30_000)
    renderer.locator(".jp-codeinterp-run[data-status='completed']").wait_for(timeout=30_000)
    renderer.locator(".jp-codeinterp-text", has_text="It is 42.").wait_for()
    texts = [t.strip() for t in renderer.locator(".jp-codeinterp-text").all_inner_texts() if t.strip()]
    assert texts == ["It is 42."]
    assert "asking again" in renderer.locator(".jp-codeinterp-notice").inner_text()
