"""The API key never appears in a response body, an event, the store's answers or a log line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM, answer, code, error
from tests.server_support import *  # noqa: F403
from tests.server_support import TEST_KEY, Api, server_config


@pytest.fixture
def jp_server_config(
    llm: ScriptedLLM, store_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> dict[str, Any]:
    """The key comes the documented way, from OPENAI_API_KEY (which kernels started by the server inherit)."""
    config = server_config(llm, store_path)
    del config["CodeInterpreter"]["api_key"]
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    caplog.set_level(logging.DEBUG)  # every logger, the openai and httpx clients included
    return config


async def test_the_key_never_leaks(
    api: Api,
    llm: ScriptedLLM,
    kernel_id: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    jp_logging_stream: Any,
    store_path: Path,
) -> None:
    llm.script(
        # The endpoint rejects the key, quoting it (some proxies do).
        error(401, f"Incorrect API key provided: {TEST_KEY}"),
        # A 400 whose message quotes it: its detail reaches the run's reason.
        error(400, f"Malformed request for key {TEST_KEY}"),
        # A good run whose code prints the environment it inherited.
        code("import os\nprint(os.environ['OPENAI_API_KEY'])"),
        answer(f"Your key is {TEST_KEY}."),
    )
    runs = []
    for prompt in ("fail auth", "fail request", "print the key"):
        started = await api.start(kernel_id, prompt, notebook_path="secret.ipynb")
        runs.append(await api.wait(started["run_id"]))
        await api.all_events(started["run_id"])

    assert [r["status"] for r in runs] == ["failed", "failed", "completed"]
    assert "401" in runs[0]["reason"]
    assert "[redacted]" in runs[2]["steps"][0]["outputs"][0]["text"]
    for path in (
        ("codeinterp", "config"),
        ("codeinterp", "models"),
        ("codeinterp", "threads"),
        ("codeinterp", "threads", runs[0]["thread_id"]),
        *(("codeinterp", "runs", r["run_id"]) for r in runs),
    ):
        status, _ = await api.get(*path)
        assert status == 200
    # The key really went to the endpoint, so the scan below looks at real traffic.
    assert {k.lower(): v for k, v in llm.headers[-1].items()}["authorization"] == f"Bearer {TEST_KEY}"

    leaks = {
        "response bodies and events": "\n".join(api.bodies),
        "log records": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
        "server log stream": jp_logging_stream.getvalue(),
        "stdout/stderr": "".join(capfd.readouterr()),
        "store file": store_path.read_bytes().decode("utf-8", "replace"),
    }
    assert len(leaks["response bodies and events"]) > 1000 and caplog.records
    for where, text in leaks.items():
        assert TEST_KEY not in text, f"the key leaked into {where}"
    assert json.dumps(runs).count("[redacted]") >= 2
