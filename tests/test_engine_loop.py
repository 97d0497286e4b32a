"""The interpreter loop on a real kernel, against the scripted model over loopback."""

from __future__ import annotations

import itertools
import json
from typing import Any

from jupyter_codeinterp.events import STAGES
from tests.conftest import TEST_KEY
from tests.engine_helpers import run_prompt
from tests.scripted_llm import ScriptedLLM, answer, code, raw_tool_call

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def test_a_prompt_runs_code_in_the_kernel_and_ends_with_the_answer(llm, make_config, kernel) -> None:
    llm.script(code("x = 6 * 7\nprint('x is', x)"), answer("The answer is **42**."))
    rec = await run_prompt(make_config(), kernel, "What is 6*7?", thread_id="t-1")

    assert rec.result.status == "completed"
    assert rec.result.answer == "The answer is **42**."
    [step] = rec.result.steps
    assert step["status"] == "ok"
    assert step["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "x is 42\n"}]
    assert isinstance(step["execution_count"], int)
    assert rec.stages(1) == list(STAGES)
    assert rec.code_of(1) == "x = 6 * 7\nprint('x is', x)"
    assert len([e for e in rec.of_type("step") if e["stage"] == "code_delta"]) > 1, "code streams in pieces"
    # The model saw the output as the tool result.
    assert tool_results(llm.requests[1]) == ["x is 42"]


async def test_events_are_numbered_and_bracketed_by_run_start_and_end(llm, make_config, kernel) -> None:
    llm.script(code("1 + 1"), answer("2"))
    rec = await run_prompt(make_config(), kernel, "add", run_id="run-abc", thread_id="t-9", start_seq=10)

    seqs = [e["seq"] for e in rec.events]
    assert seqs == list(range(11, 11 + len(seqs)))
    assert {e["run_id"] for e in rec.events} == {"run-abc"}
    assert rec.events[0]["type"] == "run_started" and rec.events[0]["thread_id"] == "t-9"
    end = rec.events[-1]
    assert end["type"] == "run_ended" and end["status"] == "completed" and end["answer"] == "2"
    assert rec.result.last_seq == seqs[-1]


async def test_live_outputs_arrive_during_in_progress(llm, make_config, kernel) -> None:
    llm.script(code("import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)"), answer("ok"))
    rec = await run_prompt(make_config(), kernel, "count")
    live = [e["output"] for e in rec.of_type("step") if e["stage"] == "in_progress" and "output" in e]
    assert [o["text"] for o in live] == ["0\n", "1\n", "2\n"]
    assert rec.result.steps[0]["outputs"][0]["text"] == "0\n1\n2\n"


async def test_stdout_stderr_results_and_errors_all_go_back_to_the_model(llm, make_config, kernel) -> None:
    source = "import sys\nprint('out')\nprint('err', file=sys.stderr)\ndisplay('shown')\n1/0"
    llm.script(code(source), code("'fixed'"), answer("fixed it"))
    rec = await run_prompt(make_config(), kernel, "go")

    first, second = rec.result.steps
    assert first["status"] == "error"
    assert second["status"] == "ok"
    result = tool_results(llm.requests[1])[0]
    assert "out" in result and "[stderr]\nerr" in result and "'shown'" in result
    assert "ZeroDivisionError: division by zero" in result
    assert "Traceback" in result or "----> 5" in result
    assert "\x1b[" not in result, "ANSI colour codes are stripped"
    assert tool_results(llm.requests[2])[1] == "'fixed'"


async def test_long_output_keeps_head_and_tail_with_a_marker(llm, make_config, kernel) -> None:
    llm.script(code("print('HEAD' + 'x' * 5000 + 'TAIL')"), answer("done"))
    await run_prompt(make_config(max_output_chars=1000), kernel, "long")
    result = tool_results(llm.requests[1])[0]
    assert result.startswith("HEAD") and result.endswith("TAIL")
    assert "characters truncated" in result
    assert len(result) < 1100


async def test_images_go_to_vision_models_as_image_parts(llm, make_config, kernel) -> None:
    show = f"from IPython.display import Image, display\nimport base64\ndisplay(Image(base64.b64decode('{PNG_1PX}')))"
    llm.script(code(show), answer("I see a pixel"))
    rec = await run_prompt(make_config(vision=True), kernel, "plot")

    assert "image/png" in rec.result.steps[0]["outputs"][0]["data"]
    follow_up = llm.requests[1]["messages"][-1]
    assert follow_up["role"] == "user"
    image = next(p for p in follow_up["content"] if p["type"] == "image_url")
    assert image["image_url"]["url"] == f"data:image/png;base64,{PNG_1PX}"


async def test_images_are_a_short_note_without_vision(llm, make_config, kernel) -> None:
    show = f"from IPython.display import Image, display\nimport base64\ndisplay(Image(base64.b64decode('{PNG_1PX}')))"
    llm.script(code(show), answer("ok"))
    await run_prompt(make_config(vision=False), kernel, "plot")
    result = tool_results(llm.requests[1])[0]
    assert "image" in result and PNG_1PX not in result
    assert all(m["role"] != "user" or isinstance(m["content"], str) for m in llm.requests[1]["messages"])


async def test_the_run_stops_at_max_steps_with_a_clear_reason(llm, make_config, kernel) -> None:
    llm.script(code("a = 1"), code("b = 2"), code("c = 3"))
    messages: list[dict[str, Any]] = []
    rec = await run_prompt(make_config(max_steps=2), kernel, "loop forever", messages=messages)

    assert rec.result.status == "failed"
    assert "max_steps (2)" in rec.result.reason
    assert [s["status"] for s in rec.result.steps] == ["ok", "ok", "skipped"]
    # Every tool call still has its result, so the thread can go on.
    calls = [c["id"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    assert calls == answered


async def test_malformed_tool_arguments_go_back_to_the_model(llm, make_config, kernel) -> None:
    llm.script(raw_tool_call('{"code": "print(1)'), code("print(1)"), answer("done"))
    rec = await run_prompt(make_config(), kernel, "go")

    assert rec.result.status == "completed"
    bad, good = rec.result.steps
    assert bad["status"] == "error" and bad["outputs"][0]["ename"] == "ToolArgumentsError"
    assert "not valid JSON" in tool_results(llm.requests[1])[0]
    assert good["status"] == "ok"


async def test_an_unknown_tool_is_answered_not_run(llm, make_config, kernel) -> None:
    llm.script(code("print(1)", name="bash"), answer("sorry"))
    rec = await run_prompt(make_config(), kernel, "go")
    assert rec.result.status == "completed"
    assert "only tool is python" in tool_results(llm.requests[1])[0]


async def test_messages_are_only_appended_within_and_across_runs(llm, make_config, kernel) -> None:
    llm.script(code("n = 10"), answer("set"), code("n * 2"), answer("20"))
    messages: list[dict[str, Any]] = []
    await run_prompt(make_config(), kernel, "set n", messages=messages)
    await run_prompt(make_config(), kernel, "double it", messages=messages)

    sent = [r["messages"] for r in llm.requests]
    for earlier, later in itertools.pairwise(sent):
        assert later[: len(earlier)] == earlier, "each request extends the previous one unchanged"
    assert tool_results(llm.requests[3])[-1] == "20", "the second run saw the first run's variables"
    assert sum(1 for m in sent[-1] if m["role"] == "system") == 1


async def test_usage_is_summed_over_the_run(llm, make_config, kernel) -> None:
    llm.script(code("1"), answer("one"))
    rec = await run_prompt(make_config(), kernel, "go")
    usages = [e["usage"] for e in rec.of_type("usage")]
    assert len(usages) == 2
    assert rec.result.usage["total_tokens"] == usages[-1]["total_tokens"] > usages[0]["total_tokens"] > 0
    assert rec.result.usage["total_tokens"] == rec.result.usage["prompt_tokens"] + rec.result.usage["completion_tokens"]


async def test_system_prompt_names_the_folder_and_its_files(llm, make_config, kernel, workdir) -> None:
    (workdir / "sales.csv").write_text("month,sales\n1,10\n")
    llm.script(answer("hi"))
    await run_prompt(make_config(extra_system_prompt="Always answer in French."), kernel, "hi", workdir=str(workdir))
    system = llm.requests[0]["messages"][0]
    assert system["role"] == "system"
    assert str(workdir) in system["content"] and "sales.csv" in system["content"]
    assert system["content"].endswith("Always answer in French.")
    assert llm.requests[0]["tools"][0]["function"]["name"] == "python"


async def test_a_base_url_without_v1_and_a_local_server_without_key_work(make_config, kernel) -> None:
    with ScriptedLLM() as open_llm:  # needs no key
        open_llm.script(answer("hello"))
        config = make_config(base_url=open_llm.root_url, api_key="")
        rec = await run_prompt(config, kernel, "hi")
    assert rec.result.status == "completed"
    assert open_llm.headers[0]["authorization"].startswith("Bearer ")


async def test_tool_call_json_printed_as_text_is_run(llm, make_config, kernel) -> None:
    llm.script(answer(json.dumps({"name": "python", "arguments": {"code": "print(5)"}})), answer("five"))
    rec = await run_prompt(make_config(), kernel, "go")
    assert rec.result.status == "completed" and rec.result.answer == "five"
    assert rec.result.steps[0]["outputs"][0]["text"] == "5\n"
    assert TEST_KEY not in json.dumps(rec.events)


async def test_the_key_never_leaves_the_engine_even_when_code_prints_it(llm, make_config, kernel) -> None:
    leak = f"print('key:', {TEST_KEY!r})\n{TEST_KEY!r}"
    llm.script(code(leak), answer("done"))
    rec = await run_prompt(make_config(), kernel, "show the key")

    assert TEST_KEY not in json.dumps(rec.events)
    assert TEST_KEY not in json.dumps(rec.result.steps)
    assert TEST_KEY not in tool_results(llm.requests[1])[0], "the model is not shown it either"
    assert "key: [redacted]" in tool_results(llm.requests[1])[0]
