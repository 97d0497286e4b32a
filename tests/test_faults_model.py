"""The model endpoint misbehaves during a run on the real server: each fault ends the run as it should, and nothing
is lost: the steps already run, the store (read as a fresh process would), and a thread history the next turn can
be sent, which then works.

How the engine reacts to each fault in detail is tests/test_engine_*.py; this is what the server keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import Reply, ScriptedLLM, answer, code, cut, error, hang, raw_tool_call
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, assert_intact, assert_valid_history, server_config

FIRST = code("print('kept')")

#: (name, settings for c.CodeInterpreter, what the model does, the end: status and a fragment of the reason)
FAULTS: list[tuple[str, dict[str, Any], list[Reply], str, str]] = [
    ("drops mid-stream", {}, [FIRST, cut(answer("The answer is"), how="close")], "failed", "cut off"),
    ("resets mid-stream", {}, [FIRST, cut(answer("The answer is"), how="reset")], "failed", "connection was reset"),
    (
        "429 then 500, then answers",
        {"max_retries": 2},
        [FIRST, error(429, "slow down", headers={"Retry-After": "0"}), error(500, "oops"), answer("Made it.")],
        "completed",
        "",
    ),
    ("429 then 500 past max_retries", {"max_retries": 1}, [FIRST, error(429), error(500, "boom")], "failed", "500"),
    (
        "hangs past request_timeout",
        {"request_timeout": 1.0},
        [FIRST, hang(10, keepalive=False)],
        "failed",
        "nothing arrived for 1 s",
    ),
    ("invalid JSON arguments", {}, [raw_tool_call('{"code": "print(1)'), answer("Gave up.")], "completed", ""),
    ("an unknown tool", {}, [code("rm -rf /", name="bash"), answer("Sorry.")], "completed", ""),
    ("an empty completion", {}, [FIRST, answer("")], "completed", ""),
]


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, store_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    config = server_config(llm, store_path)
    config["CodeInterpreter"].update(getattr(request, "param", {}))
    return config


@pytest.mark.parametrize(
    ("jp_server_config", "replies", "status", "reason"),
    [pytest.param(settings, replies, status, reason, id=name) for name, settings, replies, status, reason in FAULTS],
    indirect=["jp_server_config"],
)
async def test_a_model_fault_ends_the_run_as_it_should_and_loses_nothing(
    api: Api, llm: ScriptedLLM, kernel_id: str, store_path: Path, replies: list[Reply], status: str, reason: str
) -> None:
    llm.script(*replies)
    started = await api.start(kernel_id, "go", notebook_path="a.ipynb")
    seen = await api.all_events(started["run_id"])
    run = await api.run(started["run_id"])

    assert (run["status"], run["status"] == "failed") == (status, bool(reason)), run
    assert reason in run["reason"] and seen[-1]["reason"] == run["reason"]
    if replies[0] is FIRST:
        assert run["steps"][0]["status"] == "ok" and run["steps"][0]["outputs"][0]["text"] == "kept\n"
    else:
        assert all(s["status"] == "error" for s in run["steps"]), run["steps"]  # answered, never run
    assert_intact(store_path, run, seen)

    # The thread goes on: its next turn is sent the whole valid history, this turn included.
    llm.script(answer("Next."))
    assert (await api.wait((await api.start(kernel_id, "and then?", notebook_path="a.ipynb"))["run_id"]))[
        "answer"
    ] == "Next."
    sent = llm.requests[-1]["messages"]
    assert_valid_history(sent)
    assert [m["content"] for m in sent if m["role"] == "user"] == ["go", "and then?"]
