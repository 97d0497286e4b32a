"""The API key never appears in a response body, an event, the store's answers or a log line."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM, answer, code, error
from tests.server_support import *  # noqa: F403
from tests.server_support import TEST_KEY, Api, server_config
from tests.test_engine_redaction import joined_live


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


#: Any prefix or suffix of the key of 8+ characters holds one of these: whichever way code splits the key in two,
#: neither half may show (what may is under 8 characters, e.g. the public "sk-test").
TELLTALES = (TEST_KEY[:8], TEST_KEY[-8:])
KEY_IN_PIECES = [
    "print(k[:10], end='', flush=True); time.sleep(0.2); print(k[10:])",
    "print(k[:10], flush=True); time.sleep(0.2); print(k[10:])",
    "print(k[:10], end='', flush=True); print(k[10:], file=sys.stderr)",
    "for c in k: print(c, end='', flush=True); time.sleep(0.01)",
    "for a in (0, 7, 14): print(k[a : a + 7], end='', flush=True); time.sleep(0.1)",
]


def _store_text(store_path: Path) -> str:
    """Every row of every table, and the raw bytes of the database and its write-ahead log."""
    rows: list[str] = []
    with sqlite3.connect(store_path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            rows.extend(repr(row) for row in db.execute(f"SELECT * FROM {table}"))
    raw = b"".join(p.read_bytes() for p in store_path.parent.glob(store_path.name + "*"))
    return "\n".join(rows) + raw.decode("utf-8", "replace")


async def test_the_key_printed_in_pieces_never_reaches_a_client_or_the_store(
    api: Api, llm: ScriptedLLM, kernel_id: str, caplog: pytest.LogCaptureFixture, store_path: Path
) -> None:
    prelude = "import os, sys, time\nk = os.environ['OPENAI_API_KEY']\n"
    llm.script(*(code(prelude + piece) for piece in KEY_IN_PIECES), answer("done"))
    started = await api.start(kernel_id, "print the key in pieces", notebook_path="secret.ipynb")
    # Follow live (the events websocket), while the steps print.
    live_task = asyncio.ensure_future(api.all_events(started["run_id"]))
    run = await api.wait(started["run_id"])
    live = await live_task
    await api.all_events(started["run_id"])  # and the replay from the store
    await api.get("codeinterp", "threads", run["thread_id"])

    assert run["status"] == "completed" and len(run["steps"]) == len(KEY_IN_PIECES)
    assert all(s["status"] == "ok" for s in run["steps"])
    assert all("[redacted]" in json.dumps(s["outputs"]) for s in run["steps"]), "the key was printed, and redacted"
    assert any(e.get("output") for e in live), "outputs were seen live"
    leaks = {
        "responses and websocket events": "\n".join(api.bodies),
        "live outputs, joined per stream": "\n".join(joined_live(live)),
        "what the model was sent": json.dumps(llm.requests),
        "store rows and files": _store_text(store_path),
        "log records": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
    }
    for where, text in leaks.items():
        for telltale in TELLTALES:
            assert telltale not in text, f"a piece of the key leaked into {where}"
