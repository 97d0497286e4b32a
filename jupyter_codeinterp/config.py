"""Configuration shared by every door (server, CLI, magic): one traitlets class, one set of config files.

Set it in ``jupyter_codeinterp_config.py`` (read by all three doors) or ``jupyter_server_config.py`` (server only),
e.g. ``c.CodeInterpreter.model = "gpt-4.1-mini"``. Defaults come from the ``openai`` SDK's own environment
variables (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) and ``CODEINTERP_MODEL``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from traitlets import Bool, Dict, Enum, Float, Int, Unicode, default, validate
from traitlets.config import Config, Configurable

CONFIG_FILE_NAME = "jupyter_codeinterp_config"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Sent when a local server needs no key; the openai client refuses an empty one.
DUMMY_API_KEY = "sk-no-key-required"


class ConfigError(ValueError):
    """The configuration cannot work; the message says what to set."""


class CodeInterpreter(Configurable):
    """Settings of the interpreter loop and of the model endpoint it talks to."""

    model = Unicode(help="Chat model name. Default: $CODEINTERP_MODEL.").tag(config=True)
    base_url = Unicode(
        help="OpenAI-compatible endpoint, with or without /v1 (e.g. http://localhost:11434 for Ollama). "
        "Default: $OPENAI_BASE_URL, else OpenAI."
    ).tag(config=True)
    api_key = Unicode(
        help="API key. Default: $OPENAI_API_KEY. May be empty for a local server with a custom base_url."
    ).tag(config=True)
    max_steps = Int(20, help="Most code executions in one run before it stops.").tag(config=True)
    exec_timeout = Float(120.0, help="Seconds one execution may take before the kernel is interrupted.").tag(
        config=True
    )
    max_output_chars = Int(
        10_000, help="Longest output text sent back to the model; longer text keeps its head and tail."
    ).tag(config=True)
    tool_mode = Enum(
        ["auto", "native", "markdown"],
        default_value="auto",
        help="native: tool calling. markdown: run the first ```python block of a reply (models without tools). "
        "auto: tool calling, falling back to markdown if the endpoint rejects tools.",
    ).tag(config=True)
    vision = Bool(False, help="Send images produced by code to the model as image parts.").tag(config=True)
    max_images_per_step = Int(4, help="With vision: most images of one step sent to the model (downscaled).").tag(
        config=True
    )
    extra_system_prompt = Unicode("", help="Appended to the system prompt.").tag(config=True)
    max_retries = Int(
        3, help="Retries (with backoff, honouring Retry-After) on 429, 5xx, connection errors and timeouts."
    ).tag(config=True)
    request_timeout = Float(120.0, help="Seconds one model request may take.").tag(config=True)
    approval = Enum(
        ["auto", "ask"],
        default_value="auto",
        help="auto: run the model's code as it comes. ask: pause before each execution until the user runs, edits, "
        "skips or stops it (the default of new runs; the sidebar, the API, --ask and the magic choose per run).",
    ).tag(config=True)
    temperature = Float(None, allow_none=True, help="Sampling temperature; unset uses the endpoint's default.").tag(
        config=True
    )
    # Budgets (0: no limit). Each is checked before every model call: a run that would cross one stops there.
    max_run_tokens = Int(0, help="Most tokens (prompt + completion) one run may use.").tag(config=True)
    max_run_seconds = Float(0.0, help="Most wall-clock seconds one run may take.").tag(config=True)
    max_run_cost = Float(0.0, help="Most estimated cost in USD of one run (needs a price for the model).").tag(
        config=True
    )
    max_thread_tokens = Int(0, help="Most tokens all the runs of one thread may use together.").tag(config=True)
    max_thread_steps = Int(0, help="Most code executions in all the runs of one thread.").tag(config=True)
    max_thread_seconds = Float(0.0, help="Most wall-clock seconds of all the runs of one thread.").tag(config=True)
    max_thread_cost = Float(0.0, help="Most estimated cost in USD of one thread's runs together.").tag(config=True)
    max_file_bytes = Int(
        512 * 1024 * 1024, help="Largest file that can be attached to a prompt (512 MB, as the hosted tool)."
    ).tag(config=True)
    prices = Dict(
        help='USD per 1M tokens by model, for estimated cost: {"gpt-4.1-mini": {"input": 0.4, "output": 1.6}}. '
        "A model missing here has no cost shown.",
    ).tag(config=True)

    @default("model")
    def _default_model(self) -> str:
        return os.environ.get("CODEINTERP_MODEL", "")

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get("OPENAI_BASE_URL", "")

    @default("api_key")
    def _default_api_key(self) -> str:
        return os.environ.get("OPENAI_API_KEY", "")

    @validate("max_steps")
    def _check_max_steps(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ConfigError("max_steps must be at least 1")
        return int(proposal["value"])

    @validate("exec_timeout", "request_timeout")
    def _check_positive(self, proposal: Any) -> float:
        if proposal["value"] <= 0:
            raise ConfigError(f"{proposal['trait'].name} must be positive")
        return float(proposal["value"])

    @validate(
        "max_run_tokens", "max_run_seconds", "max_run_cost", "max_thread_tokens", "max_thread_steps",
        "max_thread_seconds", "max_thread_cost",
    )  # fmt: skip
    def _check_budget(self, proposal: Any) -> Any:
        if proposal["value"] < 0:
            raise ConfigError(f"{proposal['trait'].name} must be 0 (no limit) or positive")
        return proposal["value"]

    @validate("prices")
    def _check_prices(self, proposal: Any) -> dict[str, dict[str, float]]:
        from .budgets import check_prices

        return check_prices(proposal["value"])

    @validate("max_output_chars")
    def _check_output_chars(self, proposal: Any) -> int:
        if proposal["value"] < 200:
            raise ConfigError("max_output_chars must be at least 200")
        return int(proposal["value"])

    # -- derived values -------------------------------------------------------------------------------

    @property
    def resolved_base_url(self) -> str:
        return normalize_base_url(self.base_url) if self.base_url else DEFAULT_BASE_URL

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)

    def resolved_api_key(self) -> str:
        """The key to send. A custom endpoint may go without one; OpenAI itself may not."""
        if self.api_key:
            return str(self.api_key)
        if self.base_url:
            return DUMMY_API_KEY
        raise ConfigError(
            "No API key: set OPENAI_API_KEY (or c.CodeInterpreter.api_key), "
            "or point OPENAI_BASE_URL at a local server that needs none."
        )

    def check(self) -> None:
        """Raise ConfigError with an actionable message if a run could not start."""
        if not self.model:
            raise ConfigError("No model configured: set CODEINTERP_MODEL (or c.CodeInterpreter.model, or --model).")
        self.resolved_api_key()

    def public_dict(self) -> dict[str, Any]:
        """What may be shown to users: everything but the key, plus whether one is set."""
        return {
            "model": self.model,
            "base_url_host": urlsplit(self.resolved_base_url).netloc,
            "has_api_key": self.has_key,
            "max_steps": self.max_steps,
            "exec_timeout": self.exec_timeout,
            "max_output_chars": self.max_output_chars,
            "tool_mode": self.tool_mode,
            "vision": self.vision,
            "approval": self.approval,
            "budget": {
                "run": {
                    "tokens": self.max_run_tokens,
                    "steps": self.max_steps,
                    "seconds": self.max_run_seconds,
                    "cost": self.max_run_cost,
                },
                "thread": {
                    "tokens": self.max_thread_tokens,
                    "steps": self.max_thread_steps,
                    "seconds": self.max_thread_seconds,
                    "cost": self.max_thread_cost,
                },
            },
            "price": self.prices.get(self.model),
            "max_file_bytes": self.max_file_bytes,
        }


def normalize_base_url(url: str) -> str:
    """Accept ``http://host:port`` as well as ``http://host:port/v1``: a bare host gets ``/v1``.

    Other paths (Azure deployments, proxies) are kept as given.
    """
    url = url.strip()
    if "://" not in url:
        raise ConfigError(f"base_url must start with http:// or https://, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url must be an http(s) URL with a host, got {url!r}")
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def configure(
    *, model: str | None = None, max_steps: int | None = None, timeout: float | None = None
) -> CodeInterpreter:
    """The config of a CLI or magic run: config files and environment, then that run's own options on top."""
    config = CodeInterpreter(config=load_config_files())
    if model:
        config.model = model
    if max_steps is not None:
        config.max_steps = max_steps
    if timeout is not None:
        config.exec_timeout = timeout
    return config


def load_config_files(extra: Config | None = None) -> Config:
    """Read ``jupyter_codeinterp_config.{json,py}`` from the Jupyter config path (as the server does)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    # Lowest priority first: jupyter_config_path() lists the most specific folder first.
    for folder in reversed(jupyter_config_path()):
        for loader_cls, ext in ((JSONFileConfigLoader, ".json"), (PyFileConfigLoader, ".py")):
            path = os.path.join(folder, CONFIG_FILE_NAME + ext)
            if os.path.isfile(path):
                config.merge(loader_cls(CONFIG_FILE_NAME + ext, path=folder).load_config())
    if extra is not None:
        config.merge(extra)
    return config
