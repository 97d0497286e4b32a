"""``%%interpret`` in a real ipykernel, run by nbclient as nbconvert/papermill do; the saved outputs are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_codeinterp.transcript import RUN_MIME_TYPE
from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM, answer, code, hang

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def kernel_env(llm: ScriptedLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user sets for the kernel: the endpoint, the key and the model (and where our package is)."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("CODEINTERP_MODEL", "scripted-model")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def execute(tmp_path: Path, *sources: str, **options: Any) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}, **options).execute()
    nbformat.validate(nb)
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4)  # what a reader of the saved file sees


def test_a_notebook_run_by_nbclient_saves_the_run_and_its_transcript(kernel_env, llm, tmp_path) -> None:
    llm.script(
        code("squares = [n * n for n in numbers]\nprint(squares)\nsquares_total = sum(squares)"),
        code("import base64\nfrom IPython.display import Image\nImage(base64.b64decode(PNG))"),
        code("import asyncio\nawait asyncio.sleep(0.01)\nprint('awaited')"),  # the kernel's loop is busy: still works
        answer("The sum of the squares is **50**."),
    )
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    nb = execute(
        tmp_path,
        "%load_ext jupyter_codeinterp",
        f"numbers = [3, 4, 5]\nPNG = {png!r}",
        "%%interpret\nWhat is the sum of the squares of `numbers`?",
        "print(squares_total)",
        "%interpret",
        timeout=60,
    )
    magic = nb.cells[2]
    [output] = magic.outputs
    assert output.output_type == "display_data", "one display: no stray outputs of the generated code"
    run = output.data[RUN_MIME_TYPE]
    events = run["events"]
    assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_ended"
    assert events[-1]["status"] == "completed" and events[-1]["steps"] == 3
    completed = [e for e in events if e["type"] == "step" and e["stage"] == "completed"]
    assert completed[0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "[9, 16, 25]\n"}]
    assert completed[1]["outputs"][0]["data"]["image/png"].strip() == png
    assert completed[2]["status"] == "ok" and completed[2]["outputs"][0]["text"] == "awaited\n"

    markdown = output.data["text/markdown"]
    assert "> What is the sum of the squares of `numbers`?" in markdown
    assert "```python\nsquares = [n * n for n in numbers]" in markdown
    assert "[9, 16, 25]" in markdown
    assert f"![image/png](data:image/png;base64,{png})" in markdown
    assert "**Answer**\n\nThe sum of the squares is **50**." in markdown
    assert "completed · 3 steps" in markdown
    assert "Answer:\nThe sum of the squares is **50**." in output.data["text/plain"]

    assert nb.cells[3].outputs[0].text == "50\n", "the model's variables live on in the kernel"
    config_shown = nb.cells[4].outputs[0].data["text/plain"]
    assert "model: 'scripted-model'" in config_shown and TEST_KEY not in config_shown


def test_timeouts_interrupts_and_a_bad_key_in_a_real_kernel(kernel_env, llm, tmp_path) -> None:
    llm.script(
        code("import time\nprint('sleeping', flush=True)\ntime.sleep(60)"),  # hits --timeout 1
        code("print('awake')"),
        answer("It timed out, then worked."),
        hang(60),  # the model never finishes: the cell is interrupted
        code("import time\ntime.sleep(60)"),  # the code never finishes: the cell is interrupted
    )
    nb = execute(
        tmp_path,
        "%load_ext jupyter_codeinterp",
        "%%interpret --timeout 1\nsleep a while",
        "%%interpret\nthink for a long time",
        "%%interpret\nsleep for a long time",
        "%env OPENAI_API_KEY=sk-wrong-key-123456",
        "%%interpret\nhello",
        timeout=5,
        interrupt_on_timeout=True,  # nbclient interrupts the kernel as the stop button does
        allow_errors=True,
    )

    [timed] = nb.cells[1].outputs
    steps = [e for e in timed.data[RUN_MIME_TYPE]["events"] if e["type"] == "step" and e["stage"] == "completed"]
    assert [s["status"] for s in steps] == ["timeout", "ok"]
    assert steps[0]["outputs"][0]["text"] == "sleeping\n"
    assert steps[0]["outputs"][-1]["ename"] == "KeyboardInterrupt"
    assert "timed out after 1 s" in next(m for m in llm.requests[1]["messages"] if m["role"] == "tool")["content"]

    for cell in nb.cells[2:4]:
        run = next(o for o in cell.outputs if o.output_type == "display_data").data[RUN_MIME_TYPE]
        assert run["events"][-1]["status"] == "cancelled"
        assert [o.text for o in cell.outputs if o.output_type == "stream"] == [
            "UsageError: codeinterp: the run was cancelled.\n"
        ]
    [sleeper] = [e for e in run["events"] if e["type"] == "step" and e["stage"] == "completed"]
    assert sleeper["status"] == "cancelled"

    [bad_key] = nb.cells[5].outputs
    assert bad_key.output_type == "stream" and bad_key.name == "stderr"
    assert bad_key.text.count("\n") == 1 and "401" in bad_key.text and "OPENAI_API_KEY" in bad_key.text
    assert "sk-wrong-key-123456" not in bad_key.text


def test_a_timeout_during_the_first_output_loses_nothing(kernel_env, llm, tmp_path) -> None:
    """The first output of a fresh kernel makes the engine import its output helpers: a timeout firing meanwhile
    must wait until that is done and land in the user's code (it used to land in the import and lose the output)."""
    llm.script(code("print('first', flush=True)\nimport time\ntime.sleep(30)\nprint('slept')"), answer("cut short"))
    nb = execute(tmp_path, "%load_ext jupyter_codeinterp", "%%interpret --timeout 0.05\nprint then sleep", timeout=60)

    [output] = nb.cells[1].outputs
    events = output.data[RUN_MIME_TYPE]["events"]
    [step] = [e for e in events if e["type"] == "step" and e["stage"] == "completed"]
    assert step["status"] == "timeout"
    assert [o["text"] for o in step["outputs"] if o["output_type"] == "stream"] == ["first\n"]
    assert step["outputs"][-1]["ename"] == "KeyboardInterrupt"
    assert events[-1]["status"] == "completed"
