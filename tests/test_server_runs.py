"""A run through the REST API on a real server and a real kernel: start, follow, read; threads; one run per kernel."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM, answer, code, hang
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, server_config


def _stages(events: list[dict[str, Any]], step: int) -> list[str]:
    return [e["stage"] for e in events if e["type"] == "step" and e["step"] == step]


async def test_extension_is_listed_by_jupyter_server_extension_list() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_server", "extension", "list"], capture_output=True, text=True, check=True
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"jupyter_codeinterp\s+enabled", listing), listing
    assert re.search(r"jupyter_codeinterp\s+OK", listing), listing


async def test_config_reports_model_host_and_limits_but_not_the_key(api: Api, llm: ScriptedLLM) -> None:
    status, config = await api.get("codeinterp", "config")
    assert status == 200
    assert config["model"] == "scripted-model"
    assert config["base_url_host"] == llm.url.split("/")[2]
    assert config["has_api_key"] is True
    assert config["max_prompt_chars"] == 5000
    assert config["problem"] is None
    assert TEST_KEY not in json.dumps(config)  # noqa: F405


async def test_models_lists_the_endpoints_models(api: Api) -> None:
    status, body = await api.get("codeinterp", "models")
    assert status == 200
    assert body == {"models": ["scripted-model"], "problem": None}


async def test_a_run_end_to_end(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(code("x = 21 * 2\nprint(x)"), answer("The answer is **42**."))

    started = await api.start(kernel_id, "What is 21 * 2?", notebook_path="analysis.ipynb")
    assert started["run_id"].startswith("r-") and started["thread_id"].startswith("t-")

    events = await api.all_events(started["run_id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["run_id"] == started["run_id"] for e in events)
    assert events[0]["type"] == "run_started" and events[0]["thread_id"] == started["thread_id"]
    assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"
    stages = _stages(events, 1)
    assert stages[0] == "started" and stages[-1] == "completed"
    assert {"code_delta", "in_progress", "interpreting"} <= set(stages)
    assert "".join(e.get("delta", "") for e in events if e.get("stage") == "code_delta") == "x = 21 * 2\nprint(x)"

    run = await api.run(started["run_id"])
    assert run["status"] == "completed" and run["reason"] == ""
    assert run["answer"] == "The answer is **42**."
    assert run["kernel_id"] == kernel_id and run["notebook_path"] == "analysis.ipynb"
    assert run["last_seq"] == events[-1]["seq"]
    [step] = run["steps"]
    assert step["code"] == "x = 21 * 2\nprint(x)"
    assert step["status"] == "ok" and isinstance(step["execution_count"], int)
    assert step["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert run["usage"]["total_tokens"] > 0
    # The model saw the kernel's output as the tool result.
    assert llm.requests[1]["messages"][-1]["role"] == "tool"
    assert "42" in llm.requests[1]["messages"][-1]["content"]


async def test_a_follow_up_in_a_thread_sees_earlier_turns_and_the_same_kernel_state(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(code("secret = 1234"), answer("Stored it."), code("print(secret + 1)"), answer("It is 1235."))

    first = await api.start(kernel_id, "Remember 1234 as secret", notebook_path="nb/a.ipynb")
    assert (await api.wait(first["run_id"]))["status"] == "completed"
    # No thread_id: the notebook's latest thread is continued.
    second = await api.start(kernel_id, "Add one to it", notebook_path="nb/a.ipynb")
    assert second["thread_id"] == first["thread_id"]
    run = await api.wait(second["run_id"])

    assert run["status"] == "completed", run
    assert run["steps"][0]["outputs"][0]["text"] == "1235\n"
    sent = llm.requests[2]["messages"]
    assert [m["role"] for m in sent[:1]] == ["system"]
    contents = [m.get("content") for m in sent]
    assert "Remember 1234 as secret" in contents and "Stored it." in contents and contents[-1] == "Add one to it"
    # Appended, never rewritten: the first run's request is a prefix of the follow-up's.
    assert sent[: len(llm.requests[1]["messages"])] == llm.requests[1]["messages"]

    status, thread = await api.get("codeinterp", "threads", first["thread_id"])
    assert status == 200
    assert [r["run_id"] for r in thread["runs"]] == [first["run_id"], second["run_id"]]
    assert thread["runs"][1]["answer"] == "It is 1235." and thread["runs"][1]["steps"]
    assert thread["notebook_path"] == "nb/a.ipynb"
    assert [m["role"] for m in thread["messages"]][:2] == ["system", "user"]

    status, listing = await api.get("codeinterp", "threads", params={"notebook_path": "nb/a.ipynb"})
    assert status == 200
    [listed] = listing["threads"]
    assert listed["thread_id"] == first["thread_id"] and len(listed["runs"]) == 2
    status, other = await api.get("codeinterp", "threads", params={"notebook_path": "other.ipynb"})
    assert other == {"threads": []}


async def test_thread_new_starts_a_fresh_conversation(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(answer("one"), answer("two"))
    first = await api.start(kernel_id, "first", notebook_path="a.ipynb")
    await api.wait(first["run_id"])
    second = await api.start(kernel_id, "second", notebook_path="a.ipynb", thread_id="new")
    await api.wait(second["run_id"])
    assert second["thread_id"] != first["thread_id"]
    assert [m["role"] for m in llm.requests[1]["messages"]] == ["system", "user"]
    _, listing = await api.get("codeinterp", "threads", params={"notebook_path": "a.ipynb"})
    assert [t["thread_id"] for t in listing["threads"]] == [second["thread_id"], first["thread_id"]]


async def test_a_thread_continued_on_another_kernel_tells_the_model_its_state_is_gone(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(answer("noted"), answer("I will recreate it"))
    first = await api.wait((await api.start(kernel_id, "remember x", notebook_path="k.ipynb"))["run_id"])
    other = await api.new_kernel()
    second = await api.wait((await api.start(other, "use x", notebook_path="k.ipynb"))["run_id"])

    assert second["thread_id"] == first["thread_id"]
    said = llm.requests[1]["messages"][-1]["content"]
    assert said.startswith("(Note: this turn runs on a different kernel") and said.endswith("use x")
    assert second["prompt"] == "use x", "the note is for the model, not the record"


async def test_a_run_may_pick_its_model(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.models.append("bigger-model")
    llm.script(answer("from the bigger model"), answer("from the default model"))

    picked = await api.start(kernel_id, "hi", model="bigger-model")
    run = await api.wait(picked["run_id"])
    default = await api.wait((await api.start(kernel_id, "hi again"))["run_id"])

    assert [r["model"] for r in llm.requests] == ["bigger-model", "scripted-model"]
    assert (run["model"], default["model"]) == ("bigger-model", "scripted-model")
    assert (await api.all_events(picked["run_id"]))[0]["model"] == "bigger-model"


async def test_a_second_run_on_a_busy_kernel_is_refused_with_409(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    llm.script(hang(30))
    first = await api.start(kernel_id, "think hard")
    while llm.remaining:  # the model has its request (after the kernel said where it is), not the next run
        await asyncio.sleep(0.02)

    status, body = await api.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": "me too"})

    assert status == 409
    assert body["run_id"] == first["run_id"] and first["run_id"] in body["message"]
    # Another kernel is free.
    other = await api.new_kernel()
    llm.script(answer("done"))
    assert (await api.wait((await api.start(other, "hello"))["run_id"]))["status"] == "completed"
    await api.post("codeinterp", "runs", first["run_id"], "cancel")


async def test_runs_in_progress_are_listed_by_notebook_and_kernel(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    """How a client finds a run it did not start (a script, another tab) on the notebook it shows."""
    llm.script(hang(30))
    started = await api.start(kernel_id, "think hard", notebook_path="dir/a.ipynb")

    status, body = await api.get("codeinterp", "runs", params={"notebook_path": "dir/a.ipynb"})
    assert status == 200 and isinstance(body["now"], float)
    [run] = body["runs"]
    assert run["run_id"] == started["run_id"] and run["thread_id"] == started["thread_id"]
    assert run["status"] == "running" and run["kernel_id"] == kernel_id and "steps" not in run

    async def listed(**params: str) -> list[str]:
        return [r["run_id"] for r in (await api.get("codeinterp", "runs", params=params))[1]["runs"]]

    assert await listed(kernel_id=kernel_id) == await listed() == [run["run_id"]]
    assert await listed(notebook_path="dir/b.ipynb") == await listed(kernel_id="k-other") == []

    await api.post("codeinterp", "runs", started["run_id"], "cancel")
    await api.wait(started["run_id"])
    assert await listed(notebook_path="dir/a.ipynb") == [], "an ended run is read from its thread"


async def test_polling_with_since_sees_every_run_however_short(api: Api, llm: ScriptedLLM, kernel_id: str) -> None:
    _, first = await api.get("codeinterp", "runs", params={"notebook_path": "a.ipynb"})
    assert first["runs"] == []
    # A run that starts and ends between two polls.
    llm.script(answer("quick"))
    quick = await api.start(kernel_id, "be quick", notebook_path="a.ipynb")
    assert (await api.wait(quick["run_id"]))["status"] == "completed"

    _, second = await api.get("codeinterp", "runs", params={"notebook_path": "a.ipynb", "since": str(first["now"])})
    assert [(r["run_id"], r["status"]) for r in second["runs"]] == [(quick["run_id"], "completed")]
    _, third = await api.get("codeinterp", "runs", params={"notebook_path": "a.ipynb", "since": str(second["now"])})
    assert third["runs"] == [], "each run is reported once to a client that passes back 'now'"
    _, other = await api.get("codeinterp", "runs", params={"notebook_path": "b.ipynb", "since": str(first["now"])})
    assert other["runs"] == []


class TestSharedConfigFile:
    """``jupyter_codeinterp_config.json`` (read by the CLI and the magic too) configures the server as well."""

    @pytest.fixture
    def jp_server_config(self, llm: ScriptedLLM, store_path: Path, jp_config_dir: Path) -> dict[str, Any]:
        (jp_config_dir / "jupyter_codeinterp_config.json").write_text(
            json.dumps({"CodeInterpreter": {"max_steps": 7, "exec_timeout": 33.0}})
        )
        return server_config(llm, store_path)

    async def test_the_shared_config_file_is_read(self, api: Api) -> None:
        _, config = await api.get("codeinterp", "config")
        assert (config["max_steps"], config["exec_timeout"]) == (7, 33.0)
        assert config["model"] == "scripted-model"  # from the server's own config
