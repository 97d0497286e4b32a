"""Budgets through the server: a thread's runs add up, the next run past a thread limit stops before any model
call, and the thread record says what was spent (tokens, estimated cost, steps, seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, server_config

PRICE = {"input": 2.0, "output": 8.0}


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, store_path: Path) -> dict[str, Any]:
    config = server_config(llm, store_path)
    config["CodeInterpreter"].update(max_thread_steps=2, prices={"scripted-model": PRICE})
    return config


async def test_a_thread_past_its_step_budget_stops_before_asking_the_model(
    api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    llm.script(code("print(1)"), code("print(2)"), answer("Two steps."))
    first = await api.start(kernel_id, "count to two", notebook_path="budget.ipynb")
    done = await api.wait(first["run_id"])
    assert done["status"] == "completed", "the two steps the thread allows, and the answer"
    assert len(llm.requests) == 3

    status, thread = await api.get("codeinterp", "threads", first["thread_id"])
    assert status == 200
    spent = thread["usage"]
    assert (spent["steps"], spent["runs"], spent["priced"], spent["estimated"]) == (2, 1, True, False)
    assert done["usage"]["total_tokens"] > 0
    assert spent["tokens"] == done["usage"]["total_tokens"] > 0 and spent["seconds"] > 0
    expected = (spent["prompt_tokens"] * PRICE["input"] + spent["completion_tokens"] * PRICE["output"]) / 1e6
    assert spent["cost"] == pytest.approx(expected) == pytest.approx(done["usage"]["cost_usd"])

    second = await api.start(kernel_id, "and three", thread_id=first["thread_id"])
    again = await api.wait(second["run_id"])
    assert again["status"] == "failed" and "this thread has used 2 step(s) of its 2 step(s)" in again["reason"]
    assert len(llm.requests) == 3, "the model was not asked at all"

    llm.script(answer("Fresh budget."))
    other = await api.start(kernel_id, "a new thread", thread_id="new")
    assert (await api.wait(other["run_id"]))["status"] == "completed", "another thread has its own budget"

    status, listing = await api.get("codeinterp", "threads", params={"notebook_path": "budget.ipynb"})
    assert status == 200 and {t["thread_id"]: t["usage"]["steps"] for t in listing["threads"]}[first["thread_id"]] == 2


async def test_the_config_tells_the_sidebar_the_budgets_and_the_price(api: Api) -> None:
    status, config = await api.get("codeinterp", "config")
    assert status == 200
    assert config["budget"]["thread"]["steps"] == 2 and config["budget"]["run"]["tokens"] == 0
    assert config["price"] == PRICE
