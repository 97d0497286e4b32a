"""The shapes of what the REST API answers (``docs/api.md``), as types: the schema and the TS mirror come from here."""

from __future__ import annotations

from typing import Literal

from typing_extensions import NotRequired, TypedDict

from .events import FileAnnotation, FileChange, Output, RunStatus, Usage

#: A run's approval mode: ``ask`` pauses before each execution for the user's decision.
ApprovalMode = Literal["auto", "ask"]


class PendingApproval(TypedDict):
    """The step a run in ``waiting_for_approval`` is paused before, with exactly the code that would run."""

    step: int
    code: str


class StepRecord(TypedDict):
    """One step of a run, as ``GET /codeinterp/runs/{id}`` gives it."""

    step: int
    code: str
    outputs: list[Output]
    #: A step status (``ok``, ``error``, ...), or ``running`` for the step in progress.
    status: str
    execution_count: int | None
    elapsed: float | None
    #: What happened to the step in words (a timeout, a kernel restart); empty when nothing needs saying.
    message: str
    #: The files the step created or changed; ``files_truncated``: that list may be partial.
    files: list[FileChange]
    files_truncated: bool


class RunRecord(TypedDict):
    """A run, as ``GET /codeinterp/runs/{id}`` gives it (listings leave ``steps`` out)."""

    run_id: str
    thread_id: str
    kernel_id: str
    notebook_path: str
    prompt: str
    model: str
    status: RunStatus
    reason: str
    answer: str
    steps: NotRequired[list[StepRecord]]
    usage: Usage
    created: float
    ended: float | None
    last_seq: int
    #: Live runs only: ``ask`` or ``auto``.
    approval: NotRequired[ApprovalMode]
    #: Live runs only: the step awaiting the user's decision, or null.
    pending_approval: NotRequired[PendingApproval | None]
    #: The files attached to the prompt (paths relative to the server's root).
    files: list[str]
    #: Files the run wrote that its answer names.
    annotations: list[FileAnnotation]


class ThreadUsage(TypedDict):
    """What a thread's runs spent together (``budgets.thread_totals``): what per-thread budgets are checked against."""

    tokens: int
    prompt_tokens: int
    completion_tokens: int
    #: Estimated USD; meaningful when ``priced`` (the model had a price in c.CodeInterpreter.prices).
    cost: float
    priced: bool
    #: Some runs' tokens were counted here, the endpoint having reported none.
    estimated: bool
    steps: int
    seconds: float
    runs: int


class ThreadRecord(TypedDict):
    """A thread, as ``GET /codeinterp/threads`` lists it (``messages`` only from ``GET /codeinterp/threads/{id}``)."""

    thread_id: str
    notebook_path: str
    title: str
    created: float
    updated: float
    runs: NotRequired[list[RunRecord]]
    #: Chat messages as the model saw them (``system``, ``user``, ``assistant``, ``tool``).
    messages: NotRequired[list[dict[str, object]]]
    usage: NotRequired[ThreadUsage]


class ServerConfig(TypedDict):
    """``GET /codeinterp/config``: what the sidebar needs to know, never the key."""

    model: str
    base_url_host: str
    has_api_key: bool
    max_steps: int
    exec_timeout: float
    max_output_chars: int
    tool_mode: str
    vision: bool
    max_prompt_chars: int
    list_models: bool
    #: The default approval mode of new runs (``CodeInterpreter.approval``); each run may ask for another.
    approval: ApprovalMode
    #: The budgets new runs get (0: no limit): ``run`` and ``thread`` each with tokens, steps, seconds, cost.
    budget: dict[str, dict[str, float]]
    #: The model's price (USD per 1M ``input`` / ``output`` tokens), or null when it has none.
    price: dict[str, float] | None
    #: The largest file that can be attached to a prompt.
    max_file_bytes: int
    problem: str | None


class ConnectionState(TypedDict):
    """``/codeinterp/connection``: whose settings runs use, never the key (only whether one is set)."""

    #: ``runtime`` when connected from the sidebar, else ``server`` (its config files and environment).
    source: Literal["server", "runtime"]
    #: The admin locked the connection (``CodeInterpreterApp.lock_connection``): it cannot be changed here.
    locked: bool
    #: Kept on disk for the next server start (a file readable only by the user).
    remembered: bool
    model: str
    base_url_host: str
    has_api_key: bool


class ConnectionTest(TypedDict):
    """``POST /codeinterp/connection/test``: the endpoint's models, or what went wrong (scrubbed of the key)."""

    ok: bool
    models: list[str]
    model: str
    #: Whether ``model`` is among ``models``; null when the endpoint could not be asked.
    model_listed: bool | None
    base_url_host: str
    problem: str | None
