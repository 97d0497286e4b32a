"""``%%interpret`` in a real IPython shell: the model's code runs in this process, against the scripted model."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyter_codeinterp.magic import InterpretMagics
from jupyter_codeinterp.transcript import RUN_MIME_TYPE, to_markdown
from tests.conftest import TEST_KEY
from tests.magic_support import RecordingFrontend, final_events, interrupt_main_after
from tests.scripted_llm import ScriptedLLM, answer, code, hang

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Jupyter config folder of our own, read like the server's and the CLI's."""
    folder = tmp_path / "jupyter-config"
    folder.mkdir()
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(folder))
    (folder / "jupyter_codeinterp_config.py").write_text("c.CodeInterpreter.max_retries = 1\n")
    return folder


@pytest.fixture
def shell(llm: ScriptedLLM, config_dir: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An IPython shell with the extension loaded, configured through the environment as a user would."""
    monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("CODEINTERP_MODEL", "scripted-model")
    monkeypatch.chdir(workdir)
    ip = InteractiveShell.instance()
    ip.display_pub = RecordingFrontend(ip)
    ip.run_line_magic("load_ext", "jupyter_codeinterp")
    magics(ip).live_display = True
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_codeinterp")
    InteractiveShell.clear_instance()


def magics(ip: Any) -> InterpretMagics:
    found = ip.magics_manager.registry["InterpretMagics"]
    assert isinstance(found, InterpretMagics)
    return found


def frontend(ip: Any) -> RecordingFrontend:
    pub = ip.display_pub
    assert isinstance(pub, RecordingFrontend)
    return pub


def interpret(ip: Any, prompt: str, options: str = "") -> Any:
    return ip.run_cell(f"%%interpret {options}\n{prompt}")


def streamed(step: dict[str, Any]) -> str:
    """What a completed step's code printed."""
    return "".join(o["text"] for o in step["outputs"] if o["output_type"] == "stream")


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


# -- a run ------------------------------------------------------------------------------------------


def test_a_cell_runs_code_in_this_kernel_and_shows_the_answer(shell, llm) -> None:
    llm.script(code("x = 6 * 7\nprint('x is', x)"), answer("The answer is **42**."))
    result = interpret(shell, "What is 6*7?")

    assert result.success
    assert shell.user_ns["x"] == 42, "the model's variables are the user's"
    final = frontend(shell).final()
    run = final[RUN_MIME_TYPE]
    assert run["version"] == 1 and run["run_id"].startswith("run-")
    assert run["events"][0]["type"] == "run_started" and run["events"][0]["prompt"] == "What is 6*7?"
    assert run["events"][-1]["type"] == "run_ended" and run["events"][-1]["status"] == "completed"
    seqs = [e["seq"] for e in run["events"]]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1, "in order; the saved log is compacted, so it may skip seqs"
    markdown = final["text/markdown"]
    assert "> What is 6*7?" in markdown
    assert "```python\nx = 6 * 7\nprint('x is', x)\n```" in markdown
    assert "x is 42" in markdown and "The answer is **42**." in markdown
    assert "completed · 1 step" in markdown
    assert "x is 42" in final["text/plain"] and "Answer:\nThe answer is **42**." in final["text/plain"]
    assert tool_results(llm.requests[1]) == ["x is 42"], "the model saw the output"


def test_the_display_updates_live_through_the_stages(shell, llm) -> None:
    llm.script(
        code("import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.4)", chunk=4, delay=0.02)
    )
    llm.script(answer("Counted to two.", chunk=2, delay=0.05))
    interpret(shell, "count")

    messages = [m for m in frontend(shell).messages if RUN_MIME_TYPE in m.get("data", {})]
    assert len(messages) >= 4, "one display, updated as the run goes"
    assert [m["update"] for m in messages] == [False] + [True] * (len(messages) - 1)
    assert len({m["transient"]["display_id"] for m in messages}) == 1
    statuses = " ".join(m["data"]["text/markdown"] for m in messages)
    assert "writing code…" in statuses and "running…" in statuses
    assert any("running…" in m["data"]["text/markdown"] and "0\n1" in m["data"]["text/markdown"] for m in messages), (
        "outputs show while the code still runs"
    )
    logs = [m["data"][RUN_MIME_TYPE]["events"] for m in messages]
    assert [log[-1]["seq"] for log in logs] == sorted(log[-1]["seq"] for log in logs), "each update goes further"
    for m, log in zip(messages, logs, strict=True):
        assert log[0]["type"] == "run_started", "each update carries the whole (compacted) log so far"
        assert to_markdown(log) == m["data"]["text/markdown"], "replaying it shows what the transcript shows"


def test_an_error_goes_back_to_the_model_which_fixes_it(shell, llm) -> None:
    llm.script(code("ratio = 1 / 0"), code("ratio = 1 / 2\nratio"), answer("The ratio is 0.5."))
    result = interpret(shell, "compute the ratio")

    assert result.success
    assert shell.user_ns["ratio"] == 0.5
    first_result = tool_results(llm.requests[1])[0]
    assert "ZeroDivisionError: division by zero" in first_result and "\x1b[" not in first_result
    assert tool_results(llm.requests[2])[1] == "0.5"
    steps = [e for e in final_events(frontend(shell)) if e["type"] == "step" and e["stage"] == "completed"]
    assert [s["status"] for s in steps] == ["error", "ok"]
    assert steps[0]["outputs"][0]["ename"] == "ZeroDivisionError"
    assert steps[1]["outputs"] == [
        {"output_type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {}, "execution_count": None}
    ]
    markdown = frontend(shell).final()["text/markdown"]
    assert "**ZeroDivisionError**: division by zero" in markdown and "The ratio is 0.5." in markdown


def test_state_is_shared_with_the_users_namespace_both_ways(shell, llm) -> None:
    shell.run_cell("prices = {'apple': 3, 'pear': 5}")
    llm.script(code("total = sum(prices.values())\nprint(total)"), answer("8"))
    interpret(shell, "total price?")
    assert tool_results(llm.requests[1]) == ["8"], "the model's code read the user's variable"

    after = shell.run_cell("total * 10")
    assert after.result == 80, "the user's code reads the model's variable"


def test_outputs_are_captured_for_the_model_not_spilled_into_the_cell(shell, llm, capsys) -> None:
    show = (
        "import sys, base64\nfrom IPython.display import Image, display\n"
        f"print('to stdout')\nprint('to stderr', file=sys.stderr)\ndisplay(Image(base64.b64decode('{PNG_1PX}')))\n"
        "'last value'"
    )
    llm.script(code(show), answer("done"))
    interpret(shell, "show things")

    out = capsys.readouterr()
    assert "to stdout" not in out.out and "to stderr" not in out.err
    assert len(frontend(shell).messages) == len(frontend(shell).run_bundles()), "only the run display was shown"
    result = tool_results(llm.requests[1])[0]
    assert "to stdout" in result and "[stderr]\nto stderr" in result and "'last value'" in result
    assert "image" in result
    markdown = frontend(shell).final()["text/markdown"]
    assert f"![image/png](data:image/png;base64,{PNG_1PX})" in markdown
    assert "stderr:\n```text\nto stderr\n```" in markdown


def test_displays_made_after_the_code_like_inline_plots_are_captured(shell, llm) -> None:
    # matplotlib's inline backend shows figures from a post_execute hook: the same mechanism, without matplotlib.
    shell.run_cell(
        "from IPython.display import display\n"
        "pending = []\n"
        "def flush_figures():\n"
        "    while pending:\n"
        "        display({'text/plain': pending.pop()}, raw=True)\n"
        "get_ipython().events.register('post_execute', flush_figures)"
    )
    llm.script(code("pending.append('<Figure 1>')"), answer("plotted"))
    interpret(shell, "plot")
    [step] = [e for e in final_events(frontend(shell)) if e["type"] == "step" and e["stage"] == "completed"]
    assert step["outputs"] == [{"output_type": "display_data", "data": {"text/plain": "<Figure 1>"}, "metadata": {}}]


def test_consecutive_cells_continue_one_conversation_unless_new_thread(shell, llm) -> None:
    llm.script(code("n = 10"), answer("set"), answer("n is 10"), answer("fresh"))
    interpret(shell, "set n")
    interpret(shell, "what is n?")
    second = llm.requests[2]["messages"]
    assert [m["content"] for m in second if m["role"] == "user"] == ["set n", "what is n?"]
    assert second[: len(llm.requests[1]["messages"])] == llm.requests[1]["messages"], "history is only appended"

    interpret(shell, "start over", "--new-thread")
    assert [m["content"] for m in llm.requests[3]["messages"] if m["role"] == "user"] == ["start over"]
    ids = {b[RUN_MIME_TYPE]["events"][0]["thread_id"] for b in frontend(shell).run_bundles()}
    assert len(ids) == 2


def test_options_override_the_configuration_for_one_cell(shell, llm) -> None:
    llm.script(code("a = 1"), code("b = 2"))
    result = interpret(shell, "loop", "--model other-model --max-steps 1")

    assert llm.requests[0]["model"] == "other-model"
    assert isinstance(result.error_in_exec, UsageError)
    assert "max_steps (1)" in str(result.error_in_exec)


def test_the_configuration_comes_from_the_jupyter_config_files(shell, llm, config_dir) -> None:
    (config_dir / "jupyter_codeinterp_config.py").write_text(
        "c.CodeInterpreter.model = 'model-from-file'\nc.CodeInterpreter.max_retries = 1\n"
    )
    shell.run_cell("%interpret")
    shown = frontend(shell).messages[-1]["data"]["text/plain"]
    # The environment beats nothing here: CODEINTERP_MODEL is only the default, the file sets the model.
    assert "model: 'model-from-file'" in shown
    llm.script(answer("hi"))
    interpret(shell, "hello")
    assert llm.requests[0]["model"] == "model-from-file"


def test_the_line_magic_shows_the_configuration_never_the_key(shell, llm) -> None:
    shell.run_cell("%interpret")
    data = frontend(shell).messages[-1]["data"]
    assert "model: 'scripted-model'" in data["text/plain"]
    assert "has_api_key: True" in data["text/plain"]
    assert llm.url.split("//")[1].split("/")[0] in data["text/plain"]
    assert TEST_KEY not in json.dumps(data)
    assert "| model | 'scripted-model' |" in data["text/markdown"]


def test_help_lists_the_options() -> None:
    doc = InterpretMagics.interpret.__doc__ or ""
    for option in ("--model", "--max-steps", "--timeout", "--new-thread"):
        assert option in doc


# -- timeouts and interrupts ------------------------------------------------------------------------


def test_a_slow_execution_times_out_and_the_model_is_told(shell, llm) -> None:
    llm.script(
        code("import time\nprint('started', flush=True)\ntime.sleep(30)\nprint('slept')"),
        code("print('still here')"),
        answer("it was too slow"),
    )
    result = interpret(shell, "sleep", "--timeout 1")

    assert result.success
    slow, fast = [e for e in final_events(frontend(shell)) if e["type"] == "step" and e["stage"] == "completed"]
    assert slow["status"] == "timeout"
    assert any(o.get("ename") == "KeyboardInterrupt" for o in slow["outputs"])
    assert streamed(slow) == "started\n", "the sleep was interrupted, not waited out"
    assert "_on_sigint" not in json.dumps(slow["outputs"]), "our own frames stay out of the traceback"
    told = tool_results(llm.requests[1])[0]
    assert "timed out after 1 s" in told and "started" in told
    assert fast["status"] == "ok" and fast["outputs"][0]["text"] == "still here\n"


def test_interrupting_the_kernel_during_execution_cancels_the_run_quickly(shell, llm) -> None:
    llm.script(code("import time\nprint('working', flush=True)\ntime.sleep(30)\nprint('slept')"))
    interrupt_main_after(1.5)
    result = interpret(shell, "sleep long")

    assert isinstance(result.error_in_exec, UsageError) and "cancelled" in str(result.error_in_exec)
    events = final_events(frontend(shell))
    assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "cancelled"
    [step] = [e for e in events if e["type"] == "step" and e["stage"] == "completed"]
    assert step["status"] == "cancelled" and step["outputs"][0]["text"] == "working\n"
    assert streamed(step) == "working\n", "the sleep was interrupted, not waited out"
    assert len(llm.requests) == 1, "no model turn after the interrupt"
    assert "cancelled" in frontend(shell).final()["text/markdown"]

    # The conversation stays valid, and the kernel is free for the next run.
    llm.script(code("print('free')"), answer("ok"))
    assert interpret(shell, "again").success
    assert tool_results(llm.requests[2])[-1] == "free"


def test_interrupting_while_the_model_streams_aborts_the_stream(shell, llm) -> None:
    llm.script(hang(30))
    interrupt_main_after(1.0)
    result = interpret(shell, "think hard")

    assert isinstance(result.error_in_exec, UsageError) and "cancelled" in str(result.error_in_exec)
    assert final_events(frontend(shell))[-1]["status"] == "cancelled"
    assert llm.remaining == 0 and len(llm.requests) == 1, "the stream was aborted, not read to its end"


def test_an_interrupt_never_loses_an_output_the_code_printed(shell, llm) -> None:
    """Printing as fast as it can when the timeout fires: the interrupt may land while we record an output,
    and must then wait until the code is back in its own frames (no output lost, none half-recorded)."""
    llm.script(code("i = 0\nwhile True:\n    print(i, flush=True)\n    i += 1"), answer("stopped"))
    result = interpret(shell, "count", "--timeout 1")

    assert result.success
    [step] = [e for e in final_events(frontend(shell)) if e["type"] == "step" and e["stage"] == "completed"]
    assert step["status"] == "timeout"
    printed = streamed(step).split()
    assert printed and printed == [str(n) for n in range(len(printed))], "every number, in order, none lost"
    assert int(printed[-1]) >= shell.user_ns["i"] - 1, "the last print before the interrupt was recorded too"


# -- errors -----------------------------------------------------------------------------------------


def test_a_bad_key_is_one_actionable_line_without_a_traceback(shell, llm, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-123456")
    result = interpret(shell, "hi")

    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "401" in err and llm.url in err and "OPENAI_API_KEY" in err
    assert "sk-wrong-key-123456" not in err
    assert frontend(shell).messages == [], "nothing else was shown"


def test_no_model_configured_says_what_to_set_before_calling_anything(shell, llm, monkeypatch, capsys) -> None:
    monkeypatch.delenv("CODEINTERP_MODEL")
    result = interpret(shell, "hi")

    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CODEINTERP_MODEL" in err
    assert llm.requests == []


def test_an_unreachable_endpoint_is_one_line(shell, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    result = interpret(shell, "hi")

    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Could not reach the model endpoint" in err


def test_a_bad_option_is_a_usage_error(shell, llm) -> None:
    result = interpret(shell, "hi", "--max-steps 0")
    assert isinstance(result.error_in_exec, UsageError) and "max_steps" in str(result.error_in_exec)
    assert llm.requests == []


# -- terminals and loading --------------------------------------------------------------------------


def test_a_terminal_gets_the_plain_transcript_printed_as_the_run_goes(shell, llm, capsys) -> None:
    magics(shell).live_display = False
    llm.script(code("print(2 + 2)"), answer("Four."))
    interpret(shell, "add")

    out = capsys.readouterr().out
    assert out.startswith("[Code Interpreter · scripted-model] add\n")
    assert "--- Step 1 · ok" in out and "print(2 + 2)\n--- output ---\n4" in out
    assert "Answer:\nFour." in out and "[completed · 1 step" in out
    assert out.count("--- Step 1") == 1, "each part is printed once"
    assert frontend(shell).messages == []


def test_loading_the_extension_imports_no_engine_openai_or_nbformat() -> None:
    probe = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "before = set(sys.modules)\n"
        "ip.run_line_magic('load_ext', 'jupyter_codeinterp')\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    ours = [m for m in out.split() if m.startswith("jupyter_codeinterp")]
    assert ours == ["jupyter_codeinterp", "jupyter_codeinterp.magic"], "the engine is imported at the first run"
    heavy = {"openai", "httpx", "nbformat", "jupyter_client", "traitlets.config.loader"}
    assert not heavy & set(out.split()), "openai, nbformat and jupyter_client wait for the first run"
