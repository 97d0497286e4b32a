"""``jupyter codeinterp doctor``: check an install from the server extension to the model's tool calling.

Each check says what it found and, when something is wrong, what to do about it; the command exits non-zero when
any check fails. The model checks make real requests (``/v1/models`` and one tiny chat completion with the python
tool and ``tool_choice="auto"``), with the configuration the server, the CLI and the magic use.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TextIO

from .config import CodeInterpreter, ConfigError
from .redaction import redact

if TYPE_CHECKING:
    from openai import AsyncOpenAI

Status = Literal["ok", "warn", "fail", "skip"]

SERVER_EXTENSION = "jupyter_codeinterp"
LABEXTENSION = "jupyter-codeinterp"
#: Seconds the endpoint checks wait; a doctor that hangs for minutes helps nobody.
ENDPOINT_TIMEOUT = 20.0
TOOL_TIMEOUT = 60.0
TOOL_PROMPT = "Connection test: call the python tool with the code print(6 * 7). Do not answer in text."


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


# -- the install ----------------------------------------------------------------------------------------


def check_server_extension() -> Check:
    """Enabled the way ``jupyter server`` decides it: the jpserver_extensions of every Jupyter config folder."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    name = "server extension"
    manager = ExtensionConfigManager(read_config_path=jupyter_config_path())
    enabled: dict[str, bool] = manager.get_jpserver_extensions()  # type: ignore[no-untyped-call]
    if enabled.get(SERVER_EXTENSION):
        return Check(name, "ok", f"{SERVER_EXTENSION} is enabled")
    state = "disabled" if SERVER_EXTENSION in enabled else "not enabled in any Jupyter config folder"
    return Check(name, "fail", f"{SERVER_EXTENSION} is {state}", f"jupyter server extension enable {SERVER_EXTENSION}")


def check_labextension() -> Check:
    """Installed, built and not disabled, as JupyterLab's page config sees it."""
    from jupyter_core.paths import jupyter_path
    from jupyterlab_server.config import get_federated_extensions, get_static_page_config

    name = "labextension"
    paths = jupyter_path("labextensions")
    found = get_federated_extensions(paths).get(LABEXTENSION)
    if found is None:
        return Check(
            name,
            "fail",
            f"{LABEXTENSION} is not in any labextensions folder ({', '.join(paths)})",
            "reinstall the package (pip install --force-reinstall jupyter-codeinterp); from a source checkout, "
            "(cd labextension && npm run build) and jupyter labextension develop --overwrite .",
        )
    load = found["jupyterlab"].get("_build", {}).get("load", "")
    if not load or not os.path.isfile(os.path.join(found["ext_path"], load)):
        return Check(
            name, "fail", f"{LABEXTENSION} in {found['ext_path']} is not built", "(cd labextension && npm run build)"
        )
    disabled = get_static_page_config(level="all").get("disabledExtensions", {})
    names = disabled if isinstance(disabled, list) else [k for k, v in disabled.items() if v]
    off = [n for n in names if n == LABEXTENSION or n.startswith(LABEXTENSION + ":")]
    if off:
        return Check(name, "fail", f"disabled: {', '.join(off)}", f"jupyter labextension enable {LABEXTENSION}")
    return Check(name, "ok", f"{LABEXTENSION} {found['version']} in {found['ext_dir']}")


async def check_kernel(kernel_name: str) -> Check:
    """Start the kernel, run one line, and see whether the magic can load there too."""
    from jupyter_client.kernelspec import NoSuchKernel
    from jupyter_client.manager import AsyncKernelManager

    name = "kernel"
    km = AsyncKernelManager(kernel_name=kernel_name)
    try:
        # The kernel's own start-up chatter (e.g. ipykernel's TCP warning) is not ours to print.
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except NoSuchKernel:
        return Check(
            name,
            "fail",
            f"no kernel named {kernel_name!r}",
            "python -m ipykernel install --user (or pick one of `jupyter kernelspec list` with --kernel)",
        )
    except Exception as exc:
        return Check(name, "fail", f"{kernel_name!r} did not start: {type(exc).__name__}: {exc}")
    client = km.client()
    try:
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        code = "import importlib.util as u; print(u.find_spec('jupyter_codeinterp') is not None)"
        outputs: list[str] = []
        reply = await client.execute_interactive(
            code, timeout=30, output_hook=lambda msg: outputs.append(msg["content"].get("text", ""))
        )
        if reply["content"]["status"] != "ok":
            return Check(name, "fail", f"{kernel_name!r} started but could not run code")
    except Exception as exc:
        return Check(name, "fail", f"{kernel_name!r} did not answer: {type(exc).__name__}: {exc}")
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)
    display = km.kernel_spec.display_name if km.kernel_spec else kernel_name
    if "True" not in "".join(outputs):
        return Check(
            name,
            "warn",
            f"{display} runs code, but jupyter-codeinterp is not importable in it: the sidebar and CLI work, "
            "%%interpret does not",
            "install jupyter-codeinterp in the kernel's environment to use the magic there",
        )
    return Check(name, "ok", f"{display} ({kernel_name}) started and ran code")


# -- the model ------------------------------------------------------------------------------------------


def _client(config: CodeInterpreter, timeout: float) -> AsyncOpenAI:
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=config.resolved_api_key(), base_url=config.resolved_base_url, max_retries=0, timeout=timeout
    )


async def check_endpoint(config: CodeInterpreter) -> tuple[Check, list[str] | None]:
    """Reach ``/models`` with the key; returns the model ids when the endpoint lists them."""
    import openai

    from .llm import describe_error

    name = "endpoint"
    try:
        url = config.resolved_base_url
    except ConfigError as exc:
        return Check(name, "fail", str(exc), "fix OPENAI_BASE_URL (c.CodeInterpreter.base_url)"), None
    try:
        client = _client(config, ENDPOINT_TIMEOUT)
    except ConfigError as exc:
        return Check(name, "fail", f"no API key for {url}", str(exc)), None
    try:
        page = await client.models.list()
        ids = sorted(model.id for model in page.data)
    except openai.NotFoundError:
        return Check(name, "warn", f"{url} is reachable but does not list models (404 on /models)"), None
    except openai.APIConnectionError as exc:
        fix = "start the model server, or set OPENAI_BASE_URL (c.CodeInterpreter.base_url) to where it listens"
        if isinstance(exc, openai.APITimeoutError):
            return Check(name, "fail", f"{url} did not answer in {ENDPOINT_TIMEOUT:.0f} s", fix), None
        return Check(name, "fail", f"could not reach {url}", fix), None
    except openai.APIError as exc:
        fix = "check OPENAI_API_KEY (c.CodeInterpreter.api_key)" if isinstance(exc, openai.AuthenticationError) else ""
        return Check(name, "fail", describe_error(exc, config), fix), None
    finally:
        await client.close()
    return Check(name, "ok", f"{url} answered with {len(ids)} model(s)"), ids


def check_model(config: CodeInterpreter, models: list[str] | None) -> Check:
    name = "model"
    listed = f"; it lists: {_few(models)}" if models else ""
    if not config.model:
        return Check(name, "fail", "no model configured" + listed, "set CODEINTERP_MODEL (or c.CodeInterpreter.model)")
    if models is None:
        return Check(name, "skip", f"{config.model!r}: the endpoint's models could not be listed")
    if config.model in models:
        return Check(name, "ok", f"{config.model!r} is listed")
    return Check(
        name,
        "fail",
        f"{config.model!r} is not among the endpoint's models{listed}",
        "set CODEINTERP_MODEL to one of them (for Azure: the deployment name)",
    )


async def check_tools(config: CodeInterpreter) -> Check:
    """One small streamed request with the python tool, as a run makes it."""
    import openai

    from .llm import PYTHON_TOOL, describe_error, parse_json_tool_text, rejects_tools

    name = "tool calling"
    if config.tool_mode == "markdown":
        return Check(name, "skip", "tool_mode is 'markdown': runs use ```python blocks, not tool calls")
    soft: Status = "fail" if config.tool_mode == "native" else "warn"
    fallback = (
        "set c.CodeInterpreter.tool_mode = 'auto' (falls back to ```python blocks)"
        if soft == "fail"
        else "runs still work: tool_mode 'auto' falls back to running ```python blocks"
    )
    client = _client(config, min(TOOL_TIMEOUT, config.request_timeout))
    calls: list[str] = []
    text: list[str] = []
    try:
        request: dict[str, Any] = {
            "model": config.model,
            "messages": [{"role": "user", "content": TOOL_PROMPT}],
            "tools": [PYTHON_TOOL],
            "tool_choice": "auto",
            "stream": True,
        }
        stream = await client.chat.completions.create(**request)
        async for chunk in stream:
            for choice in chunk.choices:
                text.append(choice.delta.content or "")
                for call in choice.delta.tool_calls or []:
                    if call.function and call.function.name:
                        calls.append(call.function.name)
    except openai.APIError as exc:
        if rejects_tools(exc):
            detail = f"the endpoint rejects tool calling: {describe_error(exc, config)}"
            return Check(name, soft, detail, f"{fallback}; for vLLM/llama.cpp see the README's recipes")
        return Check(name, "fail", describe_error(exc, config))
    finally:
        await client.close()
    if "python" in calls:
        return Check(name, "ok", f"{config.model!r} called the python tool")
    reply = "".join(text)
    if parse_json_tool_text(reply) is not None:
        return Check(name, "warn", "the model printed the tool call as JSON text (runs execute it)", "")
    seen = f"called {calls}" if calls else f"answered in text ({_clip(reply)!r})"
    return Check(name, soft, f"asked to call the python tool, the model {seen}", fallback)


def _few(models: list[str], limit: int = 8) -> str:
    more = f" … ({len(models) - limit} more)" if len(models) > limit else ""
    return ", ".join(models[:limit]) + more


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the whole -----------------------------------------------------------------------------------------


async def run_checks(config: CodeInterpreter, kernel_name: str = "python3") -> list[Check]:
    """Every check, in the order they are shown; the kernel starts while the endpoint is asked."""

    async def model_checks() -> list[Check]:
        endpoint, models = await check_endpoint(config)
        if endpoint.status == "fail":
            why = "needs a reachable endpoint"
            model = check_model(config, None) if not config.model else Check("model", "skip", why)
            return [endpoint, model, Check("tool calling", "skip", why)]
        model = check_model(config, models)
        if not config.model:
            return [endpoint, model, Check("tool calling", "skip", "needs a model")]
        tools = await check_tools(config)
        if model.status == "fail" and tools.status in ("ok", "warn"):
            # Azure deployments, llama.cpp aliases: not listed, yet the endpoint serves the name.
            model = Check("model", "warn", model.detail + ", but the endpoint answered a request with it")
        return [endpoint, model, tools]

    kernel, model_results = await asyncio.gather(check_kernel(kernel_name), model_checks())
    return [check_server_extension(), check_labextension(), kernel, *model_results]


MARKS: dict[Status, str] = {"ok": " ok ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


def report(checks: list[Check], config: CodeInterpreter, stream: TextIO) -> int:
    """Print the checks; 1 if any failed, else 0."""
    for check in checks:
        line = f"[{MARKS[check.status]}] {check.name}: {check.detail}"
        if check.fix:
            line += f"\n       fix: {check.fix}"
        print(redact(line, config.api_key), file=stream)
    failed = [c.name for c in checks if c.status == "fail"]
    warned = [c.name for c in checks if c.status == "warn"]
    if failed:
        print(f"\n{len(failed)} check(s) failed: {', '.join(failed)}.", file=stream)
    else:
        print(f"\nReady{' (with warnings: ' + ', '.join(warned) + ')' if warned else ''}.", file=stream)
    stream.flush()
    return 1 if failed else 0


def describe_config(config: CodeInterpreter) -> str:
    """The settings in use, never the key."""
    try:
        url = config.resolved_base_url
    except ConfigError:
        url = f"{config.base_url} (malformed)"
    key = "set" if config.has_key else "not set"
    return f"model {config.model or '(none)'!r} at {url}, API key {key}, tool_mode {config.tool_mode!r}"


def main(config: CodeInterpreter, kernel_name: str, stream: TextIO = sys.stdout) -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("jupyter-codeinterp")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        ours = "(not installed)"
    print(f"jupyter-codeinterp {ours}: {redact(describe_config(config), config.api_key)}", file=stream)
    return report(asyncio.run(run_checks(config, kernel_name)), config, stream)
