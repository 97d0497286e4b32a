"""``%%interpret`` where approval mode ``ask`` is configured: it cannot ask yet, so it refuses and runs nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from tests.scripted_llm import ScriptedLLM, code
from tests.test_magic import config_dir, interpret, shell  # noqa: F401  (fixtures)


def test_the_magic_refuses_to_run_unapproved_code_when_approval_is_ask(
    shell: Any,  # noqa: F811  (the fixture imported above)
    llm: ScriptedLLM,
    config_dir: Path,  # noqa: F811
    workdir: Path,
) -> None:
    (config_dir / "jupyter_codeinterp_config.py").write_text("c.CodeInterpreter.approval = 'ask'\n")
    marker = workdir / "ran.txt"
    llm.script(code(f"open({str(marker)!r}, 'w').write('ran')"))

    result = interpret(shell, "write the file")

    assert isinstance(result.error_in_exec, UsageError)
    assert "approval mode 'ask'" in str(result.error_in_exec) and "jupyter codeinterp run --ask" in str(
        result.error_in_exec
    )
    assert not marker.exists() and llm.requests == [], "nothing ran, the model was not even asked"
