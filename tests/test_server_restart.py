"""The store outlives the server: a real ``jupyter server`` process is killed or stopped mid-run and started again.

Runs that were in flight are then ``failed`` with a reason saying why, their event logs end, finished runs and the
thread's conversation are intact, and the thread goes on.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import websocket

from jupyter_codeinterp.runs import RESTART_REASON, SHUTDOWN_REASON
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import TEST_KEY, assert_intact

REPO = Path(__file__).resolve().parent.parent
TOKEN = "restart-test-token"
LONG_SLEEP = "import time\nprint('working', flush=True)\ntime.sleep(120)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m jupyter_server`` with our extension, in folders of its own, driven over HTTP."""

    def __init__(self, home: Path, llm: ScriptedLLM, args: Sequence[str] = ()) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_dir = home / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        (home / "root").mkdir(exist_ok=True)
        config = {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_codeinterp": True},
                "allow_unauthenticated_access": False,
                "root_dir": str(home / "root"),
                "open_browser": False,
                "allow_root": True,
            },
            "IdentityProvider": {"token": TOKEN},
            "CodeInterpreterApp": {"db_path": str(home / "store.sqlite")},
            "CodeInterpreter": {"model": "scripted-model", "base_url": llm.url, "max_retries": 0},
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "OPENAI_API_KEY": TEST_KEY,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        self.log = open(home / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--port={self.port}", "--ip=127.0.0.1", *args],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.read_log()
            try:
                if self.request("GET", "/api/status")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.read_log()}")

    def read_log(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.home / f"server-{self.port}.log").read_text()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Authorization": f"token {TOKEN}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, reply = self.request(method, path, body)
        assert status in (200, 201), (status, reply)
        return reply

    def start_run(self, kernel_id: str, prompt: str, **fields: Any) -> dict[str, Any]:
        return dict(self.ok("POST", "/codeinterp/runs", {"kernel_id": kernel_id, "prompt": prompt, **fields}))

    def wait_run(self, run_id: str, until: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.ok("GET", f"/codeinterp/runs/{run_id}")
            if until(run):
                return dict(run)
            assert time.monotonic() < deadline, run
            time.sleep(0.05)

    def events(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/codeinterp/runs/{run_id}/events?after={after}",
            header=[f"Authorization: token {TOKEN}"],
            timeout=30,
        )
        events = []
        try:
            while message := ws.recv():
                events.append(json.loads(message))
        except websocket.WebSocketConnectionClosedException:
            pass
        finally:
            ws.close()
        return events

    def stop(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        finally:
            self.log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.kill()


def _running_a_step(run: dict[str, Any]) -> bool:
    return bool(run["steps"]) and run["steps"][0]["outputs"] != []


def test_runs_threads_and_events_survive_a_crash_and_a_shutdown(
    tmp_path: Path, llm: ScriptedLLM, servers: list[ServerProcess]
) -> None:
    home = tmp_path / "server"
    llm.script(code("x = 41"), answer("Set x."), code(LONG_SLEEP))

    # 1. A first server: a run completes, a second one is mid-execution when the process is killed outright.
    first = ServerProcess(home, llm)
    servers.append(first)
    kernel = first.ok("POST", "/api/kernels", {"name": "python3"})["id"]
    done = first.start_run(kernel, "set x to 41", notebook_path="a.ipynb")
    first.wait_run(done["run_id"], lambda r: r["status"] == "completed")
    crashed = first.start_run(kernel, "now sleep", notebook_path="a.ipynb")
    first.wait_run(crashed["run_id"], _running_a_step)
    first.proc.send_signal(signal.SIGKILL)
    first.kill()

    # 2. Started again on the same store: the killed run failed "the server restarted", the rest is intact.
    second = ServerProcess(home, llm)
    servers.append(second)
    run = second.ok("GET", f"/codeinterp/runs/{crashed['run_id']}")
    assert run["status"] == "failed" and run["reason"] == RESTART_REASON
    events = second.events(crashed["run_id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "run_ended" and events[-1]["reason"] == RESTART_REASON
    assert any(e.get("output", {}).get("text") == "working\n" for e in events)  # stored before the crash
    assert_intact(home / "store.sqlite", run, events)  # a sound file, the log whole, the thread's history valid
    kept = second.ok("GET", f"/codeinterp/runs/{done['run_id']}")
    assert kept["status"] == "completed" and kept["answer"] == "Set x."
    assert kept["steps"][0]["code"] == "x = 41"
    thread = second.ok("GET", f"/codeinterp/threads/{done['thread_id']}")
    assert [r["status"] for r in thread["runs"]] == ["completed", "failed"]
    assert "set x to 41" in [m["content"] for m in thread["messages"]]

    # 3. A graceful stop (SIGTERM) mid-run records why the run ended.
    kernel = second.ok("POST", "/api/kernels", {"name": "python3"})["id"]
    llm.script(code(LONG_SLEEP))
    stopped = second.start_run(kernel, "sleep again", thread_id=done["thread_id"])
    second.wait_run(stopped["run_id"], _running_a_step)
    second.stop(signal.SIGTERM)
    assert second.proc.returncode is not None

    # 4. And the thread goes on in a third server, with its earlier turns.
    third = ServerProcess(home, llm)
    servers.append(third)
    run = third.ok("GET", f"/codeinterp/runs/{stopped['run_id']}")
    assert run["status"] == "failed" and run["reason"] == SHUTDOWN_REASON, run
    assert third.events(stopped["run_id"])[-1]["reason"] == SHUTDOWN_REASON
    kernel = third.ok("POST", "/api/kernels", {"name": "python3"})["id"]
    llm.script(answer("Still here."))
    last = third.start_run(kernel, "are you there?", notebook_path="a.ipynb")
    assert last["thread_id"] == done["thread_id"]
    assert third.wait_run(last["run_id"], lambda r: r["status"] == "completed")["answer"] == "Still here."
    contents = [m.get("content") for m in llm.requests[-1]["messages"]]
    assert "set x to 41" in contents and "Set x." in contents
    assert TEST_KEY not in "".join(s.read_log() for s in servers)


def test_a_crash_mid_run_leaves_a_thread_whose_next_run_sees_every_finished_step(
    tmp_path: Path, llm: ScriptedLLM, servers: list[ServerProcess]
) -> None:
    """Messages are stored as they are appended, with the events that announce them: a server killed in the middle
    of a run's second step has already recorded the first step's result, and the next run is told both."""
    home = tmp_path / "server"
    llm.script(code("print('first step done')"), code(LONG_SLEEP))
    first = ServerProcess(home, llm)
    servers.append(first)
    kernel = first.ok("POST", "/api/kernels", {"name": "python3"})["id"]
    started = first.start_run(kernel, "do two things", notebook_path="b.ipynb")
    first.wait_run(started["run_id"], lambda r: len(r["steps"]) == 2 and r["steps"][1]["outputs"])
    first.proc.send_signal(signal.SIGKILL)
    first.kill()

    second = ServerProcess(home, llm)
    servers.append(second)
    assert second.ok("GET", f"/codeinterp/runs/{started['run_id']}")["status"] == "failed"
    kernel = second.ok("POST", "/api/kernels", {"name": "python3"})["id"]
    llm.script(answer("Picking up."))
    follow_up = second.start_run(kernel, "what happened?", thread_id=started["thread_id"])
    second.wait_run(follow_up["run_id"], lambda r: r["status"] == "completed")

    sent = llm.requests[-1]["messages"]
    results = [m["content"] for m in sent if m["role"] == "tool"]
    assert results[0] == "first step done", "the finished step's result survived the crash"
    assert results[1].startswith("Not run to the end"), "the step the crash cut short is answered, not left open"
    asked = [m["content"] for m in sent if m["role"] == "user"]
    assert asked[-2] == "do two things" and asked[-1].endswith("what happened?")
