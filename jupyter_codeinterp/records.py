"""The shapes of what the REST API answers (``docs/api.md``), as types: the schema and the TS mirror come from here."""

from __future__ import annotations

from typing_extensions import NotRequired, TypedDict

from .events import Output, RunStatus, Usage


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
    problem: str | None
