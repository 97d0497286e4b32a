"""Remote kernels: a server started with ``--gateway-url`` runs its kernels in a Jupyter Kernel Gateway.

A real gateway process on loopback, demanding its auth token, starts kernels in a folder of its own; a real
``jupyter server`` process is pointed at it, and kernels are created through the server, which proxies to the
gateway. There a run goes end to end, the model is told the kernel's folder (not the server's), a kernel killed
mid-step is reported as restarted and the run goes on, a cancel interrupts the kernel through the gateway, and a
gateway that goes away fails the run, saying so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import TEST_KEY
from tests.test_server_restart import ServerProcess, _free_port

GATEWAY_TOKEN = "gateway-test-token"
FINAL = ("completed", "failed", "cancelled")


class Gateway:
    """``python -m kernel_gateway`` on a free loopback port, with a token; its kernels start in ``folder``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.folder = home / "kernels"
        self.folder.mkdir(parents=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **{k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        }
        self.log = open(home / "gateway.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kernel_gateway",
                "--KernelGatewayApp.ip=127.0.0.1",
                f"--KernelGatewayApp.port={self.port}",
                "--KernelGatewayApp.port_retries=0",
                f"--KernelGatewayApp.auth_token={GATEWAY_TOKEN}",
                "--JupyterWebsocketPersonality.list_kernels=True",
            ],
            cwd=self.folder,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.read_log()
            try:
                if self.request("/api/kernelspecs")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, self.read_log()
            time.sleep(0.1)

    def request(self, path: str, token: str | None = GATEWAY_TOKEN) -> tuple[int, Any]:
        headers = {"Authorization": f"token {token}"} if token else {}
        req = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, None

    def read_log(self) -> str:
        self.log.flush()
        return (self.home / "gateway.log").read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Stack:
    """A gateway and a Jupyter server that manages its kernels there."""

    def __init__(self, home: Path, llm: ScriptedLLM) -> None:
        self.gateway = Gateway(home / "gateway")
        try:
            self.server = ServerProcess(
                home / "server",
                llm,
                [f"--gateway-url={self.gateway.url}", f"--GatewayClient.auth_token={GATEWAY_TOKEN}"],
            )
        except BaseException:
            self.gateway.stop()
            raise
        self.root = home / "server" / "root"

    def new_kernel(self) -> str:
        return str(self.server.ok("POST", "/api/kernels", {"name": "python3"})["id"])

    def run(self, kernel_id: str, prompt: str, **fields: Any) -> dict[str, Any]:
        started = self.server.start_run(kernel_id, prompt, **fields)
        return self.server.wait_run(started["run_id"], lambda r: r["status"] in FINAL, timeout=90)

    def close(self) -> None:
        try:
            # A graceful stop shuts its kernels down in the gateway. Without the gateway, jupyter_server's
            # cleanup fails and the process never exits (a jupyter_server limitation): then kill it.
            if self.server.proc.poll() is None and self.gateway.proc.poll() is None:
                self.server.stop(signal.SIGTERM)
        finally:
            self.server.kill()
            self.gateway.stop()


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=TEST_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[Stack]:
    started = Stack(tmp_path_factory.mktemp("gateway-stack"), llm)
    yield started
    started.close()


def _outputs_text(step: dict[str, Any]) -> str:
    return "".join(o.get("text", "") for o in step["outputs"])


def test_a_run_on_a_gateway_kernel_completes_and_is_told_the_kernels_folder(stack: Stack, llm: ScriptedLLM) -> None:
    (stack.gateway.folder / "sales.csv").write_text("region,total\nnorth,3\n")
    (stack.root / "notes").mkdir()
    assert stack.gateway.request("/api/kernels", token=None)[0] == 401  # the gateway demands its token
    kernel = stack.new_kernel()
    assert kernel in [k["id"] for k in stack.gateway.request("/api/kernels")[1]]  # the kernel lives there
    llm.script(
        code("import os\nprint(os.getcwd())\nx = 6 * 7"),
        code("print(x)"),
        answer("The answer is **42**."),
    )
    asked = len(llm.requests)

    run = stack.run(kernel, "what is six times seven?", notebook_path="notes/a.ipynb")

    assert run["status"] == "completed", run
    assert run["answer"] == "The answer is **42**."
    assert [(s["step"], s["status"], s["execution_count"]) for s in run["steps"]] == [(1, "ok", 1), (2, "ok", 2)]
    assert _outputs_text(run["steps"][0]) == f"{stack.gateway.folder}\n"
    assert _outputs_text(run["steps"][1]) == "42\n"
    system = llm.requests[asked]["messages"][0]["content"]
    assert f"Working directory: {stack.gateway.folder}\n" in system  # asked of the kernel, not the server's
    assert "sales.csv" in system and str(stack.root) not in system
    events = stack.server.events(run["run_id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["step"] for e in events if e["type"] == "step" and e["stage"] == "completed"] == [1, 2]
    assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "completed"
    assert llm.remaining == 0


def test_a_gateway_kernel_killed_mid_step_is_restarted_and_the_run_goes_on(stack: Stack, llm: ScriptedLLM) -> None:
    kernel = stack.new_kernel()
    llm.script(
        # The pause lets the print leave the kernel (its IOPub thread sends it) before the kill.
        code("import os, time\nx = 1\nprint('before', flush=True)\ntime.sleep(1)\nos.kill(os.getpid(), 9)"),
        code("print('x' in globals())"),
        answer("The kernel restarted; x is gone."),
    )
    asked = len(llm.requests)

    run = stack.run(kernel, "kill the kernel, then look")

    assert run["status"] == "completed", run
    killed, after = run["steps"]
    assert killed["status"] == "kernel_restarted", killed
    assert "restarted" in killed["message"] and _outputs_text(killed) == "before\n"
    assert after["status"] == "ok" and _outputs_text(after) == "False\n"  # a fresh kernel, in the same run
    told = llm.requests[asked + 1]["messages"][-1]
    assert told["role"] == "tool" and "The kernel died" in told["content"]
    events = stack.server.events(run["run_id"])
    assert [e["step"] for e in events if e["type"] == "kernel_restarted"] == [1]
    assert llm.remaining == 0


def test_cancelling_a_run_interrupts_the_gateway_kernel_which_stays_usable(stack: Stack, llm: ScriptedLLM) -> None:
    kernel = stack.new_kernel()
    llm.script(code("import time\nprint('working', flush=True)\ntime.sleep(600)"))  # outlasts any wait below
    started = stack.server.start_run(kernel, "sleep")
    stack.server.wait_run(started["run_id"], lambda r: bool(r["steps"]) and r["steps"][0]["outputs"] != [])

    stack.server.ok("POST", f"/codeinterp/runs/{started['run_id']}/cancel")
    cancelled = stack.server.wait_run(started["run_id"], lambda r: r["status"] in FINAL)

    assert cancelled["status"] == "cancelled" and cancelled["steps"][0]["status"] == "cancelled"
    llm.script(code("print('free')"), answer("Free again."))
    run = stack.run(kernel, "are you free?")  # the interrupt reached the kernel: it runs the next step
    assert run["status"] == "completed" and _outputs_text(run["steps"][0]) == "free\n", run
    assert llm.remaining == 0


def test_a_gateway_that_goes_away_mid_step_fails_the_run_saying_so(tmp_path: Path, llm: ScriptedLLM) -> None:
    lost = Stack(tmp_path, llm)
    try:
        kernel = lost.new_kernel()
        llm.script(code("import time\nprint('working', flush=True)\ntime.sleep(60)"))
        started = lost.server.start_run(kernel, "sleep")
        lost.server.wait_run(started["run_id"], lambda r: bool(r["steps"]) and r["steps"][0]["outputs"] != [])

        lost.gateway.proc.kill()
        run = lost.server.wait_run(started["run_id"], lambda r: r["status"] in FINAL, timeout=60)

        assert run["status"] == "failed", run
        assert "gateway" in run["reason"], run["reason"]
        assert _outputs_text(run["steps"][0]) == "working\n"  # what it printed is kept
        assert lost.server.events(started["run_id"])[-1]["type"] == "run_ended"
    finally:
        lost.close()
