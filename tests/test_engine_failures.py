"""How the loop behaves when things go wrong: slow code, dying kernels, cancels, and failing model endpoints."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.loop import Interpreter
from tests.conftest import TEST_KEY
from tests.engine_helpers import run_prompt
from tests.scripted_llm import answer, code, drop, error, hang, markdown_code


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def test_a_slow_execution_times_out_interrupts_the_kernel_and_tells_the_model(llm, make_config, kernel) -> None:
    llm.script(
        code("import time\nprint('started', flush=True)\ntime.sleep(30)\nprint('slept')"),
        code("print('kernel is free')"),
        answer("gave up waiting"),
    )
    rec = await run_prompt(make_config(exec_timeout=1.0), kernel, "go")

    slow, fast = rec.result.steps
    assert slow["status"] == "timeout"
    assert any(o.get("ename") == "KeyboardInterrupt" for o in slow["outputs"]), "the kernel was interrupted"
    printed = [o["text"] for o in slow["outputs"] if o["output_type"] == "stream"]
    assert printed == ["started\n"], "the sleep was cut short, not waited out"
    result = tool_results(llm.requests[1])[0]
    assert "timed out after 1 s" in result and "started" in result
    assert fast["status"] == "ok" and fast["outputs"][0]["text"] == "kernel is free\n"


async def test_a_dying_kernel_is_restarted_and_the_model_is_told_state_was_lost(llm, make_config, kernel) -> None:
    llm.script(
        code("secret = 1\nprint('before', flush=True)\nimport os\nos._exit(1)"),
        code("print('secret' in globals())"),
        answer("the kernel restarted"),
    )
    rec = await run_prompt(make_config(), kernel, "crash it")

    assert rec.result.status == "completed"
    died, after = rec.result.steps
    assert died["status"] == "kernel_restarted"
    [notice] = rec.of_type("kernel_restarted")
    assert notice["step"] == 1 and "restarted" in notice["message"]
    result = tool_results(llm.requests[1])[0]
    assert "restarted" in result and "lost" in result
    assert after["outputs"][0]["text"] == "False\n", "the restarted kernel has fresh state"


async def test_the_run_fails_clearly_when_the_dead_kernel_cannot_restart(llm, make_config, kernel) -> None:
    llm.script(code("import os\nos._exit(1)"), answer("unreachable"))
    kernel.kernel_spec.argv[0] = "/nonexistent/python"  # the environment vanished: a restart cannot work
    rec = await run_prompt(make_config(), kernel, "crash it")

    assert rec.result.status == "failed"
    assert "could not be restarted" in rec.result.reason


async def _cancel_when(interp: Interpreter, rec: list[dict[str, Any]], seen: Any) -> None:
    """Cancel the run once it has emitted an event ``seen`` accepts (a state, not a time)."""
    while not any(seen(e) for e in rec):
        await asyncio.sleep(0.02)
    interp.cancel()


async def test_cancel_during_model_streaming_aborts_the_stream(llm, make_config, kernel) -> None:
    llm.script(hang(30, text="Thinking"))
    events: list[dict[str, Any]] = []
    interp = Interpreter(make_config(), KernelExecutor(kernel))
    canceller = asyncio.ensure_future(_cancel_when(interp, events, lambda e: e["type"] == "text_delta"))
    result = await interp.run("think hard", emit=events.append)
    await canceller
    interp.executor.close()  # type: ignore[attr-defined]

    assert result.status == "cancelled"
    assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "cancelled"
    assert "".join(e["delta"] for e in events if e["type"] == "text_delta") == "Thinking", "nothing after the cancel"


async def test_cancel_during_execution_interrupts_the_kernel_within_a_second(llm, make_config, kernel) -> None:
    llm.script(code("import time\nprint('working', flush=True)\ntime.sleep(30)\nwoke = True"))
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    interp = Interpreter(make_config(), KernelExecutor(kernel))
    printed = lambda e: e.get("output", {}).get("text") == "working\n"  # noqa: E731
    canceller = asyncio.ensure_future(_cancel_when(interp, events, printed))
    result = await interp.run("sleep", emit=events.append, messages=messages)
    await canceller
    interp.executor.close()  # type: ignore[attr-defined]

    assert result.status == "cancelled"
    [step] = result.steps
    assert step["status"] == "cancelled" and step["outputs"][0]["text"] == "working\n"
    assert messages[-1] == {
        "role": "tool",
        "tool_call_id": messages[-2]["tool_calls"][0]["id"],
        "content": "Cancelled by the user.",
    }
    # The kernel was interrupted (not left sleeping): the line after the sleep never ran.
    llm.script(code("print('woke' in globals())"), answer("ok"))
    again = await run_prompt(make_config(), kernel, "next", messages=messages)
    assert again.result.status == "completed" and again.result.steps[0]["outputs"][0]["text"] == "False\n"


async def test_rate_limits_and_server_errors_are_retried_honouring_retry_after(llm, make_config, kernel) -> None:
    llm.script(error(429, "slow down", headers={"Retry-After": "1"}), error(503, "overloaded"), answer("made it"))
    begun = time.monotonic()
    rec = await run_prompt(make_config(max_retries=3), kernel, "hi")
    assert rec.result.status == "completed" and rec.result.answer == "made it"
    assert len(llm.requests) == 3
    assert time.monotonic() - begun >= 1.0, "Retry-After was honoured"


async def test_retries_are_bounded(llm, make_config, kernel) -> None:
    llm.script(*[error(500, "boom")] * 3)
    rec = await run_prompt(make_config(max_retries=1), kernel, "hi")
    assert rec.result.status == "failed"
    assert len(llm.requests) == 2
    assert "HTTP 500" in rec.result.reason and "boom" in rec.result.reason


async def test_a_bad_key_fails_at_once_naming_endpoint_and_model_never_the_key(llm, make_config, kernel) -> None:
    rec = await run_prompt(make_config(api_key="sk-wrong-key-123456"), kernel, "hi")
    assert rec.result.status == "failed"
    assert len(llm.requests) == 1, "401 is not retried"
    assert "401" in rec.result.reason and llm.url in rec.result.reason and "scripted-model" in rec.result.reason
    assert "sk-wrong-key-123456" not in json.dumps(rec.events)


async def test_forbidden_and_not_found_fail_at_once(llm, make_config, kernel) -> None:
    llm.script(error(403, "no access"))
    rec = await run_prompt(make_config(), kernel, "hi")
    assert rec.result.status == "failed" and "403" in rec.result.reason
    llm.script(error(404, "no such model"))
    rec = await run_prompt(make_config(), kernel, "hi")
    assert rec.result.status == "failed" and "404" in rec.result.reason and "CODEINTERP_MODEL" in rec.result.reason
    assert len(llm.requests) == 2
    assert TEST_KEY not in json.dumps(rec.events)


async def test_an_unreachable_endpoint_fails_with_a_clear_reason(make_config, kernel) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    rec = await run_prompt(make_config(base_url=f"http://127.0.0.1:{port}", max_retries=1), kernel, "hi")
    assert rec.result.status == "failed"
    assert "Could not reach the model endpoint" in rec.result.reason and str(port) in rec.result.reason


async def test_a_stream_that_breaks_off_is_retried_then_fails_the_run_clearly(llm, make_config, kernel) -> None:
    llm.script(*[drop()] * 3)
    rec = await run_prompt(make_config(max_retries=2), kernel, "hi")
    assert rec.result.status == "failed" and len(llm.requests) == 3
    assert rec.result.reason.startswith("The model stream was cut off before it finished")
    assert "closed the connection mid-answer" in rec.result.reason


async def test_no_model_configured_fails_with_what_to_set(make_config, kernel) -> None:
    rec = await run_prompt(make_config(model=""), kernel, "hi")
    assert rec.result.status == "failed" and "CODEINTERP_MODEL" in rec.result.reason


async def test_markdown_mode_runs_the_first_python_block(llm, make_config, kernel) -> None:
    llm.script(markdown_code("print(40 + 2)"), answer("It is 42."))
    rec = await run_prompt(make_config(tool_mode="markdown"), kernel, "add")

    assert rec.result.status == "completed" and rec.result.answer == "It is 42."
    assert "tools" not in llm.requests[0]
    assert rec.code_of(1) == "print(40 + 2)"
    assert rec.stages(1) == ["started", "code_delta", "in_progress", "interpreting", "completed"]
    feedback = llm.requests[1]["messages"][-1]
    assert feedback["role"] == "user" and "42" in feedback["content"]
    assert "Let me run this." in "".join(e["delta"] for e in rec.of_type("text_delta"))


async def test_auto_mode_falls_back_to_markdown_when_tools_are_rejected(llm, make_config, kernel) -> None:
    llm.script(error(400, "this model does not support tools"), markdown_code("print(7)"), answer("seven"))
    rec = await run_prompt(make_config(tool_mode="auto"), kernel, "go")
    assert rec.result.status == "completed" and rec.result.answer == "seven"
    assert "tools" in llm.requests[0] and "tools" not in llm.requests[1]
    assert rec.of_type("notice")[0]["level"] == "warning"
    assert rec.result.steps[0]["outputs"][0]["text"] == "7\n"


async def test_a_kernel_that_never_answers_fails_the_run_clearly(llm, make_config, jp_asyncio_loop, tmp_path) -> None:
    import sys

    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    llm.script(code("1"), answer("unreachable"))
    km = AsyncKernelManager()
    km._kernel_spec = KernelSpec(argv=[sys.executable, "-c", "import time; time.sleep(60)"], display_name="silent")
    await km.start_kernel()
    executor = KernelExecutor(km)
    executor.ready_timeout = 2.0
    try:
        rec = await run_prompt(make_config(), km, "go", interpreter=Interpreter(make_config(), executor))
    finally:
        await km.shutdown_kernel(now=True)
    assert rec.result.status == "failed"
    assert rec.result.reason == "The kernel did not answer within 2 s."
