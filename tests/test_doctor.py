"""`jupyter codeinterp doctor`: each check against the real thing (config folders, a kernel, the scripted model),
and each failure on purpose: a dead port, a wrong model, a bad key, no key, a disabled install."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY
from tests.scripted_llm import ScriptedLLM, answer, code, error


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A user Jupyter config folder of the test's own (no developer's ~/.jupyter leaks in)."""
    folder = tmp_path / "jupyter-config"
    folder.mkdir()
    return folder


def doctor(config_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEINTERP_"))}
    environ.update({"JUPYTER_CONFIG_DIR": str(config_dir), **env})
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codeinterp.cli", "doctor", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def model_env(llm: ScriptedLLM, model: str = "scripted-model", key: str = TEST_KEY) -> dict[str, str]:
    return {"OPENAI_BASE_URL": llm.url, "OPENAI_API_KEY": key, "CODEINTERP_MODEL": model}


def lines(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Check name -> its status mark and text (with the fix line, if any)."""
    found: dict[str, str] = {}
    current = ""
    for line in proc.stdout.splitlines():
        if line.startswith("["):
            current = line.split("] ", 1)[1].split(":", 1)[0]
            found[current] = line
        elif line.startswith("       fix: ") and current:
            found[current] += "\n" + line.strip()
    return found


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def test_a_working_install_passes_every_check(llm: ScriptedLLM, config_dir: Path) -> None:
    llm.script(code("print(6 * 7)"))
    proc = doctor(config_dir, **model_env(llm))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = lines(proc)
    assert list(checks) == ["server extension", "labextension", "kernel", "endpoint", "model", "tool calling"]
    assert all(line.startswith("[ ok ]") for line in checks.values()), proc.stdout
    assert "'scripted-model' is listed" in checks["model"]
    assert proc.stdout.rstrip().endswith("Ready.")
    [request] = llm.requests
    assert request["tool_choice"] == "auto" and request["stream"] is True
    assert [t["function"]["name"] for t in request["tools"]] == ["python"]
    assert TEST_KEY not in proc.stdout + proc.stderr
    assert proc.stderr == "", "kernel chatter stays out of the report"


def test_a_dead_port_fails_the_endpoint_and_skips_what_needs_it(config_dir: Path) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    proc = doctor(config_dir, OPENAI_BASE_URL=url, CODEINTERP_MODEL="any")

    assert proc.returncode == 1
    checks = lines(proc)
    assert checks["endpoint"].startswith(f"[FAIL] endpoint: could not reach {url}/v1")
    assert "fix: start the model server, or set OPENAI_BASE_URL" in checks["endpoint"]
    assert checks["model"].startswith("[skip]") and checks["tool calling"].startswith("[skip]")
    assert checks["kernel"].startswith("[ ok ]"), "the install checks still run"
    assert "1 check(s) failed: endpoint." in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_wrong_model_names_the_listed_ones(llm: ScriptedLLM, config_dir: Path) -> None:
    llm.models = ["scripted-model", "other-model"]
    llm.script(error(404, "The model `gpt-nope` does not exist"))
    proc = doctor(config_dir, **model_env(llm, model="gpt-nope"))

    assert proc.returncode == 1
    checks = lines(proc)
    assert checks["model"].startswith("[FAIL] model: 'gpt-nope' is not among the endpoint's models")
    assert "it lists: other-model, scripted-model" in checks["model"]
    assert "fix: set CODEINTERP_MODEL to one of them" in checks["model"]
    assert checks["tool calling"].startswith("[FAIL]") and "404" in checks["tool calling"]


def test_an_unlisted_model_the_endpoint_serves_is_a_warning(llm: ScriptedLLM, config_dir: Path) -> None:
    """Azure lists models, not deployment names; llama.cpp answers to any name."""
    llm.script(code("print(6 * 7)"))
    proc = doctor(config_dir, "--model", "my-deployment", **model_env(llm))

    assert proc.returncode == 0, proc.stdout
    checks = lines(proc)
    assert checks["model"].startswith("[warn] model: 'my-deployment' is not among")
    assert checks["model"].endswith("but the endpoint answered a request with it")
    assert llm.requests[0]["model"] == "my-deployment"
    assert "Ready (with warnings: model)." in proc.stdout


def test_a_model_that_answers_in_text_warns_unless_tool_calls_are_required(llm: ScriptedLLM, config_dir: Path) -> None:
    llm.script(answer("6 * 7 = 42"))
    proc = doctor(config_dir, **model_env(llm))
    assert proc.returncode == 0
    tools = lines(proc)["tool calling"]
    assert tools.startswith("[warn] tool calling: asked to call the python tool, the model answered in text")
    assert "falls back to running ```python blocks" in tools

    (config_dir / "jupyter_codeinterp_config.json").write_text(json.dumps({"CodeInterpreter": {"tool_mode": "native"}}))
    llm.script(answer("6 * 7 = 42"))
    proc = doctor(config_dir, **model_env(llm))
    assert proc.returncode == 1
    assert lines(proc)["tool calling"].startswith("[FAIL] tool calling:")


def test_an_endpoint_that_rejects_tools_is_told_how_to_fall_back(llm: ScriptedLLM, config_dir: Path) -> None:
    llm.script(error(400, "This model does not support tools"))
    proc = doctor(config_dir, **model_env(llm))

    assert proc.returncode == 0
    tools = lines(proc)["tool calling"]
    assert tools.startswith("[warn] tool calling: the endpoint rejects tool calling")
    assert "README's recipes" in tools


def test_a_bad_key_fails_without_printing_it(llm: ScriptedLLM, config_dir: Path) -> None:
    bad = "sk-wrong-key-0123456789"
    proc = doctor(config_dir, **model_env(llm, key=bad))

    assert proc.returncode == 1
    endpoint = lines(proc)["endpoint"]
    assert endpoint.startswith("[FAIL]") and "401" in endpoint and "fix: check OPENAI_API_KEY" in endpoint
    assert bad not in proc.stdout + proc.stderr
    assert llm.requests == [], "no chat request after the key was rejected"


def test_nothing_configured_says_what_to_set(config_dir: Path) -> None:
    proc = doctor(config_dir)

    assert proc.returncode == 1
    checks = lines(proc)
    assert checks["endpoint"].startswith("[FAIL] endpoint: no API key for https://api.openai.com/v1")
    assert "set OPENAI_API_KEY" in checks["endpoint"] and "OPENAI_BASE_URL" in checks["endpoint"]
    assert (
        checks["model"] == "[FAIL] model: no model configured\nfix: set CODEINTERP_MODEL (or c.CodeInterpreter.model)"
    )
    assert proc.stdout.splitlines()[0].endswith(
        "model '(none)' at https://api.openai.com/v1, API key not set, tool_mode 'auto'"
    )


def test_a_broken_install_names_each_fix(llm: ScriptedLLM, config_dir: Path) -> None:
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_codeinterp": False}}})
    )
    (config_dir / "labconfig").mkdir()
    (config_dir / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"jupyter-codeinterp": True}})
    )
    llm.script(code("print(6 * 7)"))
    proc = doctor(config_dir, "--kernel", "no-such-kernel", **model_env(llm))

    assert proc.returncode == 1
    checks = lines(proc)
    assert checks["server extension"] == (
        "[FAIL] server extension: jupyter_codeinterp is disabled\n"
        "fix: jupyter server extension enable jupyter_codeinterp"
    )
    assert checks["labextension"] == (
        "[FAIL] labextension: disabled: jupyter-codeinterp\nfix: jupyter labextension enable jupyter-codeinterp"
    )
    assert checks["kernel"].startswith("[FAIL] kernel: no kernel named 'no-such-kernel'")
    assert checks["tool calling"].startswith("[ ok ]"), "the model checks are independent of the install checks"
    assert "3 check(s) failed: server extension, labextension, kernel." in proc.stdout
