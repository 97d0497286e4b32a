"""Bring your own key: a model connected at runtime (``/codeinterp/connection``) is what the next runs use.

A server with nothing configured, as on Binder: the user connects an endpoint, a key and a model from the sidebar.
They are kept in memory, and on disk (a 0600 file) only when the user asks; the key never comes back, and never
shows in a log, a response or the store. An admin's lock makes the server's own settings win.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jupyter_codeinterp import schema
from jupyter_codeinterp.config import DUMMY_API_KEY
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import TEST_KEY, Api
from tests.test_server_restart import ServerProcess

OTHER_KEY = "sk-other-SECRET-77c2e0b1"
WRONG_KEY = "sk-wrong-SECRET-0d1e2f3a"
NO_CREDENTIALS = {"Authorization": ""}
NOT_CONFIGURED = {"model": "", "base_url": "", "api_key": "", "max_retries": 0, "request_timeout": 20.0}


@pytest.fixture
def connection_file(tmp_path: Path) -> Path:
    return tmp_path / "user-data" / "codeinterp" / "connection.json"


@pytest.fixture
def locked(request: pytest.FixtureRequest) -> bool:
    return bool(getattr(request, "param", False))


@pytest.fixture
def jp_server_config(
    llm: ScriptedLLM,
    store_path: Path,
    connection_file: Path,
    locked: bool,
    caplog: pytest.LogCaptureFixture,
) -> dict[str, Any]:
    """Nothing configured (the Binder case); when locked, the admin's settings: the scripted model and its key."""
    caplog.set_level(logging.DEBUG)
    model = {**NOT_CONFIGURED, "model": "scripted-model", "base_url": llm.url, "api_key": TEST_KEY}
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_codeinterp": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "CodeInterpreterApp": {
            "db_path": str(store_path),
            "connection_file": str(connection_file),
            "lock_connection": locked,
        },
        "CodeInterpreter": model if locked else NOT_CONFIGURED,
    }


def connect_body(llm: ScriptedLLM, key: str = TEST_KEY, **extra: Any) -> dict[str, Any]:
    return {"base_url": llm.url, "api_key": key, "model": "scripted-model", **extra}


def valid(name: str, body: Any) -> Any:
    """``body`` if it has the shape docs/schema.json gives ``name`` (closed: no undeclared field)."""
    jsonschema.validate(body, {"$ref": f"#/$defs/{name}", "$defs": schema.build()["$defs"]})
    return body


async def connection(api: Api) -> dict[str, Any]:
    status, body = await api.get("codeinterp", "connection")
    assert status == 200, body
    return dict(valid("ConnectionState", body))


async def probe(api: Api, body: Any = None) -> dict[str, Any]:
    status, reply = await api.post("codeinterp", "connection", "test", body=body)
    assert status == 200, reply
    return dict(valid("ConnectionTest", reply))


async def until(api: Api, run_id: str, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not predicate(run := await api.run(run_id)):
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.05)
    return run


def store_text(store_path: Path) -> str:
    with sqlite3.connect(store_path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [repr(row) for table in tables for row in db.execute(f"SELECT * FROM {table}")]
    raw = b"".join(p.read_bytes() for p in store_path.parent.glob(store_path.name + "*"))
    return "\n".join(rows) + raw.decode("utf-8", "replace")


def assert_nowhere(keys: tuple[str, ...], api: Api, caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    logs = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records
    for key in keys:
        assert key not in "\n".join(api.bodies), "a response carries the key"
        assert key not in logs, "a log line carries the key"
        for text in texts:
            assert key not in text


# -- in memory --------------------------------------------------------------------------------------


async def test_a_connection_set_at_runtime_is_used_by_the_next_run_and_never_shown(
    api: Api,
    llm: ScriptedLLM,
    kernel_id: str,
    connection_file: Path,
    store_path: Path,
    caplog: pytest.LogCaptureFixture,
    jp_logging_stream: Any,
) -> None:
    _, config = await api.get("codeinterp", "config")
    assert config["problem"].startswith("No model configured") and config["has_api_key"] is False
    assert await connection(api) == {
        "source": "server",
        "locked": False,
        "remembered": False,
        "model": "",
        "base_url_host": "api.openai.com",
        "has_api_key": False,
    }

    status, body = await api.post("codeinterp", "connection", body=connect_body(llm))

    host = llm.url.split("/")[2]
    assert status == 200, body
    assert body == {
        "source": "runtime",
        "locked": False,
        "remembered": False,
        "model": "scripted-model",
        "base_url_host": host,
        "has_api_key": True,
    }
    assert not connection_file.exists() and not connection_file.parent.exists(), "nothing written unasked"
    _, config = await api.get("codeinterp", "config")
    assert (config["problem"], config["model"], config["base_url_host"], config["has_api_key"]) == (
        None,
        "scripted-model",
        host,
        True,
    )
    _, models = await api.get("codeinterp", "models")
    assert models == {"models": ["scripted-model"], "problem": None}

    llm.script(code("print(6 * 7)"), answer("It is 42."))
    run = await api.wait((await api.start(kernel_id, "six times seven?"))["run_id"])

    assert run["status"] == "completed" and run["answer"] == "It is 42." and run["model"] == "scripted-model"
    # The scripted model demands the key: the run got through with the one connected.
    assert {k.lower(): v for k, v in llm.headers[-1].items()}["authorization"] == f"Bearer {TEST_KEY}"
    await api.all_events(run["run_id"])
    assert_nowhere((TEST_KEY,), api, caplog, jp_logging_stream.getvalue(), store_text(store_path))


async def test_runs_in_progress_keep_their_connection_and_the_next_run_uses_the_new_one(
    api: Api, llm: ScriptedLLM, kernel_id: str, tmp_path: Path
) -> None:
    """The change lands while a run's step waits for a file: that run's next model turn still goes where it began."""
    go = tmp_path / "go"
    with ScriptedLLM(api_key=OTHER_KEY) as other:
        other.models = ["other-model"]
        assert (await api.post("codeinterp", "connection", body=connect_body(llm)))[0] == 200
        llm.script(
            code(f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.05)\nprint('went')"),
            answer("first done"),
        )
        first = await api.start(kernel_id, "wait for go")
        await until(api, first["run_id"], lambda r: bool(r["steps"]))  # its step is running

        body = {"base_url": other.url, "api_key": OTHER_KEY, "model": "other-model"}
        assert (await api.post("codeinterp", "connection", body=body))[0] == 200
        go.write_text("")
        first_run = await api.wait(first["run_id"])
        other.script(answer("second done"))
        second_run = await api.wait((await api.start(kernel_id, "and now?"))["run_id"])

        assert (first_run["status"], first_run["answer"], first_run["model"]) == (
            "completed",
            "first done",
            "scripted-model",
        )
        assert (second_run["status"], second_run["answer"], second_run["model"]) == (
            "completed",
            "second done",
            "other-model",
        )
        assert len(llm.requests) == 2 and len(other.requests) == 1
        _, config = await api.get("codeinterp", "config")
        assert config["model"] == "other-model" and config["base_url_host"] == other.url.split("/")[2]


async def test_leaving_the_key_out_keeps_it_for_the_same_endpoint_only(api: Api, llm: ScriptedLLM) -> None:
    assert (await api.post("codeinterp", "connection", body=connect_body(llm)))[0] == 200

    status, body = await api.post("codeinterp", "connection", body={"model": "another-model"})
    assert status == 200 and body["has_api_key"] is True and body["model"] == "another-model"
    assert (await probe(api, {}))["ok"] is True, "the kept key still opens the endpoint"

    with ScriptedLLM(api_key=DUMMY_API_KEY) as keyless:  # it takes the dummy key a local server is sent
        status, body = await api.post("codeinterp", "connection", body={"base_url": keyless.url})
        assert status == 200 and body["has_api_key"] is False, "a key never follows the user to another host"
        assert (await probe(api))["ok"] is True


# -- remembered -------------------------------------------------------------------------------------


async def test_remember_writes_a_file_only_the_user_can_read_and_forget_deletes_it(
    api: Api, llm: ScriptedLLM, connection_file: Path
) -> None:
    old_umask = os.umask(0)  # whatever the umask, the file is never readable by others, not even for a moment
    try:
        status, body = await api.post("codeinterp", "connection", body=connect_body(llm, remember=True))
    finally:
        os.umask(old_umask)

    assert status == 200 and body["remembered"] is True and body["source"] == "runtime"
    assert stat.S_IMODE(connection_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(connection_file.parent.stat().st_mode) == 0o700
    saved = json.loads(connection_file.read_text())
    assert saved == {"version": 1, "base_url": llm.url, "api_key": TEST_KEY, "model": "scripted-model"}
    assert os.listdir(connection_file.parent) == ["connection.json"], "no temporary file left behind"

    # Someone loosened it: the next save replaces it with a fresh 0600 file.
    connection_file.chmod(0o644)
    assert (await api.post("codeinterp", "connection", body={"model": "other"}))[1]["remembered"] is True
    assert stat.S_IMODE(connection_file.stat().st_mode) == 0o600
    assert json.loads(connection_file.read_text())["model"] == "other", "still remembered when it changes"

    # Not remembering any more deletes it; the connection stays for this session.
    status, body = await api.post("codeinterp", "connection", body={"remember": False})
    assert status == 200 and body["remembered"] is False and body["source"] == "runtime"
    assert not connection_file.exists()

    await api.post("codeinterp", "connection", body={"remember": True})
    assert connection_file.exists()
    status, body = await api.call("DELETE", "codeinterp", "connection")
    assert status == 200 and body["source"] == "server" and body["remembered"] is False
    assert not connection_file.exists()
    _, config = await api.get("codeinterp", "config")
    assert config["problem"].startswith("No model configured"), "back to the server's settings"
    assert (await api.call("DELETE", "codeinterp", "connection"))[0] == 200, "forgetting twice is fine"


async def test_a_connection_that_cannot_be_remembered_changes_nothing(
    api: Api, llm: ScriptedLLM, connection_file: Path
) -> None:
    connection_file.parent.parent.mkdir(parents=True)
    connection_file.parent.write_text("a file where the folder should be")

    status, body = await api.post("codeinterp", "connection", body=connect_body(llm, remember=True))

    assert status == 503, body
    assert str(connection_file) in body["message"] and "Nothing was changed" in body["message"]
    assert (await connection(api))["source"] == "server"


def test_a_fresh_server_uses_the_remembered_connection(tmp_path: Path, llm: ScriptedLLM) -> None:
    """Real server processes: the first remembers (at the default path, in the data dir), the second starts with it."""
    home = tmp_path / "server"
    with ScriptedLLM(api_key=OTHER_KEY) as mine:
        mine.models = ["my-model"]
        first = ServerProcess(home, llm)
        try:
            body = {"base_url": mine.url, "api_key": OTHER_KEY, "model": "my-model", "remember": True}
            assert first.ok("POST", "/codeinterp/connection", body)["remembered"] is True
        finally:
            first.stop(signal.SIGTERM)
        saved = home / "data" / "codeinterp" / "connection.json"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        saved.chmod(0o640)  # loosened while the server was down

        second = ServerProcess(home, llm)
        try:
            state = second.ok("GET", "/codeinterp/connection")
            assert (state["source"], state["remembered"], state["model"]) == ("runtime", True, "my-model")
            assert stat.S_IMODE(saved.stat().st_mode) == 0o600, "tightened when read"
            mine.script(answer("from my model"))
            kernel = second.ok("POST", "/api/kernels", {"name": "python3"})["id"]
            run = second.start_run(kernel, "hello")
            run = second.wait_run(run["run_id"], lambda r: r["status"] in ("completed", "failed"))
            assert (run["status"], run["answer"], run["model"]) == ("completed", "from my model", "my-model")
            assert llm.requests == [], "the server's own model was not used"
            second.ok("DELETE", "/codeinterp/connection")
            assert not saved.exists()
        finally:
            second.stop(signal.SIGTERM)
        log = first.read_log() + second.read_log()
        assert OTHER_KEY not in log and "using the remembered connection" in log


# -- locked -----------------------------------------------------------------------------------------


@pytest.fixture
def remembered_before(connection_file: Path) -> Path:
    connection_file.parent.mkdir(parents=True)
    fd = os.open(connection_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"version": 1, "base_url": "http://127.0.0.1:9/v1", "api_key": OTHER_KEY, "model": "mine"}, f)
    return connection_file


@pytest.mark.parametrize("locked", [True], indirect=True)
async def test_when_the_admin_locks_the_connection_the_servers_settings_win(
    remembered_before: Path, api: Api, llm: ScriptedLLM, kernel_id: str
) -> None:
    state = await connection(api)
    assert (state["source"], state["locked"], state["model"]) == ("server", True, "scripted-model")

    status, body = await api.post("codeinterp", "connection", body=connect_body(llm, key=OTHER_KEY))
    assert status == 403 and "administrator" in body["message"], body
    status, body = await api.post("codeinterp", "connection", "test", body={"base_url": "http://127.0.0.1:9"})
    assert status == 403, body
    body = await probe(api)  # the current settings may be tested
    assert body["ok"] is True and body["models"] == ["scripted-model"]

    llm.script(answer("the admin's model"))
    run = await api.wait((await api.start(kernel_id, "hi"))["run_id"])
    assert (run["status"], run["model"]) == ("completed", "scripted-model")
    # The user may still delete their own remembered file.
    assert (await api.call("DELETE", "codeinterp", "connection"))[0] == 200
    assert not remembered_before.exists()


async def test_without_a_lock_a_remembered_connection_wins_over_the_servers(remembered_before: Path, api: Api) -> None:
    state = await connection(api)
    assert (state["source"], state["remembered"], state["model"], state["base_url_host"]) == (
        "runtime",
        True,
        "mine",
        "127.0.0.1:9",
    )


# -- testing the connection -------------------------------------------------------------------------


async def test_test_connection_lists_the_models_or_says_what_is_wrong_without_the_key(
    api: Api, llm: ScriptedLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm.models = ["scripted-model", "gpt-other", f"echo-{TEST_KEY}"]  # an endpoint that echoes the key
    body = await probe(api, connect_body(llm))
    assert body["ok"] is True and body["problem"] is None and body["model_listed"] is True
    assert body["models"][:2] == ["echo-[redacted]", "gpt-other"] and "scripted-model" in body["models"]
    assert (await connection(api))["source"] == "server", "testing uses nothing"

    wrong = await probe(api, connect_body(llm, key=WRONG_KEY))
    assert wrong["ok"] is False and wrong["models"] == [] and "rejected the API key (401)" in wrong["problem"]

    with ScriptedLLM() as dead:
        dead_url = dead.url
    down = await probe(api, {**connect_body(llm), "base_url": dead_url})
    assert down["ok"] is False and "Could not reach the model endpoint" in down["problem"]

    # A key pasted into the URL too: the answer names the endpoint, never the key.
    in_url = {**connect_body(llm, key=WRONG_KEY), "base_url": f"{dead_url}?k={WRONG_KEY}"}
    leaky = await probe(api, in_url)
    assert leaky["ok"] is False and "[redacted]" in leaky["problem"]

    # Nothing connected, nothing tested: the current settings say what is missing.
    current = await probe(api)
    assert current["ok"] is False and "No API key" in current["problem"]
    assert_nowhere((TEST_KEY, WRONG_KEY), api, caplog)


# -- bad input --------------------------------------------------------------------------------------

#: Each with otherwise good fields (the last two alone): a 400 that names the field.
BAD = [
    ({"base_url": "ftp://example.com/v1"}, "base_url"),
    ({"base_url": "javascript:alert(1)"}, "base_url"),
    ({"base_url": f"{TEST_KEY}"}, "base_url"),  # the key pasted into the wrong field
    ({"base_url": f"http://user:{TEST_KEY}@example.com/v1"}, "base_url"),
    ({"base_url": "http://example.com/" + "x" * 2048}, "base_url"),
    ({"base_url": 42}, "base_url"),
    ({"base_url": "http://example.com/\n"}, "base_url"),
    ({"api_key": ["sk-a"]}, "api_key"),
    ({"api_key": "k" * 4097}, "api_key"),
    ({"api_key": "sk-abc\x00def"}, "api_key"),
    ({"model": {"name": "x"}}, "model"),
    ({"model": "m" * 201}, "model"),
    ({"remember": "yes"}, "remember"),
    ({"apikey": TEST_KEY}, "apikey"),
    ({"base_url": "http://localhost:11434", "api_key": "", "model": ""}, "model"),
    ({"model": "gpt-4.1-mini", "api_key": ""}, "api_key"),
]


async def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    api: Api, llm: ScriptedLLM, connection_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for i, (fields, name) in enumerate(BAD):
        alone = i >= len(BAD) - 2
        body = fields if alone else {**connect_body(llm), "remember": True, **fields}
        status, body = await api.post("codeinterp", "connection", body=body)
        assert status == 400, (fields, body)
        assert f"'{name}'" in body["message"], (fields, body)
    for raw in (b"[]", b'"x"', b"{", b""):
        status, body = await api.call("POST", "codeinterp", "connection", raw=raw)
        assert status == 400, (raw, body)

    assert await connection(api) == {
        "source": "server",
        "locked": False,
        "remembered": False,
        "model": "",
        "base_url_host": "api.openai.com",
        "has_api_key": False,
    }
    assert not connection_file.exists()
    assert_nowhere((TEST_KEY,), api, caplog)


# -- authentication ---------------------------------------------------------------------------------


async def test_every_connection_route_needs_credentials(api: Api, llm: ScriptedLLM) -> None:
    for method, path in (
        ("GET", ("codeinterp", "connection")),
        ("POST", ("codeinterp", "connection")),
        ("DELETE", ("codeinterp", "connection")),
        ("POST", ("codeinterp", "connection", "test")),
    ):
        body = connect_body(llm) if method == "POST" else None
        status, _ = await api.call(method, *path, body=body, headers=dict(NO_CREDENTIALS))
        assert status in (401, 403), (method, path, status)
    assert (await connection(api))["source"] == "server"


async def test_a_cross_site_post_with_only_the_login_cookie_is_refused(
    api: Api, llm: ScriptedLLM, http_server_client: Any, jp_auth_header: dict[str, str], jp_base_url: str
) -> None:
    """A page elsewhere can make the browser send its cookie, not the XSRF token: jupyter_server refuses it."""
    url = jp_base_url.rstrip("/") + "/codeinterp/connection"
    signed_in = await http_server_client.fetch(url, headers=jp_auth_header)
    cookies = "; ".join(c.split(";")[0] for c in signed_in.headers.get_list("Set-Cookie"))
    assert "username-" in cookies, "the token request gave the browser a login cookie"

    refused = await http_server_client.fetch(
        url, method="POST", body=json.dumps(connect_body(llm)), headers={"Cookie": cookies}, raise_error=False
    )
    assert refused.code == 403 and b"_xsrf" in refused.body, refused.body
    assert (await connection(api))["source"] == "server"
    # The page's own requests (ServerConnection) echo the XSRF cookie in a header: those go through.
    xsrf = "0123456789abcdef" * 2
    same_site = await http_server_client.fetch(
        url,
        method="POST",
        body=json.dumps(connect_body(llm)),
        headers={"Cookie": f"{cookies}; _xsrf={xsrf}", "X-XSRFToken": xsrf},
        raise_error=False,
    )
    assert same_site.code == 200, same_site.body
