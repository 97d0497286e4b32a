"""``%%interpret --ask`` (or approval mode ``ask`` in the config): before each step the code is shown in the cell and
the user answers with the kernel's own ``input()``: run, edit, skip (with a reason the model is told) or stop. A
frontend that cannot answer input stops the run before anything runs."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from jupyter_codeinterp.cell_approval import NO_INPUT
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.test_magic import config_dir, interpret, shell, tool_results  # noqa: F401  (fixtures)
from tests.test_magic_kernel import execute, kernel_env  # noqa: F401  (fixture)


def answers(monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    """What the user types at the kernel's input() prompts, line by line (then the input is closed)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(line + "\n" for line in lines)))


def write(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('ran')\nprint('wrote')"


def test_config_ask_shows_the_code_and_runs_it_when_the_user_says_run(
    shell: Any,  # noqa: F811  (the fixture imported above)
    llm: ScriptedLLM,
    config_dir: Path,  # noqa: F811
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (config_dir / "jupyter_codeinterp_config.py").write_text("c.CodeInterpreter.approval = 'ask'\n")
    marker = workdir / "ran.txt"
    llm.script(code(write(marker)), answer("Written."))
    answers(monkeypatch, "r")

    result = interpret(shell, "write the file")

    assert result.error_in_exec is None, result.error_in_exec
    assert marker.read_text() == "ran"
    shown = capsys.readouterr().out
    assert "Step 1 wants to run this code:" in shown and str(marker) in shown


def test_skip_tells_the_model_the_reason_and_runs_nothing(
    shell: Any,  # noqa: F811
    llm: ScriptedLLM,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = workdir / "ran.txt"
    llm.script(code(write(marker)), answer("Fine, I left it."))
    answers(monkeypatch, "s", "not in this folder")

    result = interpret(shell, "write the file", "--ask")

    assert result.error_in_exec is None and not marker.exists()
    told = tool_results(llm.requests[1])[0]
    assert "the user skipped this step" in told and "not in this folder" in told


def test_edit_runs_what_the_user_typed_instead(
    shell: Any,  # noqa: F811
    llm: ScriptedLLM,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker, mine = workdir / "ran.txt", workdir / "mine.txt"
    llm.script(code(write(marker)), answer("Done your way."))
    answers(monkeypatch, "e", f"open({str(mine)!r}, 'w').write('mine')", ".")

    result = interpret(shell, "write the file", "--ask")

    assert result.error_in_exec is None
    assert not marker.exists() and mine.read_text() == "mine"
    assert str(mine) in llm.requests[1]["messages"][-1]["content"] or any(
        str(mine) in str(m) for m in llm.requests[1]["messages"]
    ), "the model is told what really ran"


def test_stop_or_closed_input_ends_the_run_with_nothing_run(
    shell: Any,  # noqa: F811
    llm: ScriptedLLM,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = workdir / "ran.txt"
    for typed in (("t",), ()):
        llm.script(code(write(marker)))
        answers(monkeypatch, *typed)
        result = interpret(shell, "write the file", "--ask --new-thread")
        assert isinstance(result.error_in_exec, UsageError) and not marker.exists()


def test_a_frontend_that_cannot_answer_input_stops_the_run_before_anything_runs(
    kernel_env: None,  # noqa: F811
    llm: ScriptedLLM,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran.txt"
    llm.script(code(write(marker)))
    nb = execute(
        tmp_path,
        "%load_ext jupyter_codeinterp",
        "%%interpret --ask\nwrite the file",
        timeout=60,
        allow_errors=True,
    )
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert NO_INPUT in printed and not marker.exists()
    assert "UsageError: codeinterp: the run was cancelled." in printed, "the cell ends in the magic's error"
