"""What the ``/codeinterp`` routes accept, and how they refuse: every refusal is a ``ServiceError`` with the HTTP
status to answer and a message saying what is wrong, so no input can reach the service (or the store) unchecked.

Plain Python: the handlers call these, and the tests call them directly.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from .store_errors import StoreFailure


class ServiceError(Exception):
    """A request the service refuses; ``status`` is the HTTP status the handlers answer with."""

    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        #: Extra JSON fields for the error body (e.g. the active run's id on a 409).
        self.extra = extra


class BadRequest(ServiceError):
    status = 400


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PayloadTooLarge(ServiceError):
    status = 413


class Unavailable(ServiceError):
    status = 503


class InsufficientStorage(ServiceError):
    status = 507


def store_refusal(failure: StoreFailure) -> ServiceError:
    """The store cannot be used: 507 when its disk is full, else 503; the body names the cause and the path."""
    kind = InsufficientStorage if failure.cause == "disk_full" else Unavailable
    return kind(failure.message, cause=failure.cause, path=failure.path)


# -- the body -----------------------------------------------------------------------------------------

#: Deepest nesting of arrays and objects a body may have: ours are flat, and json's parser recurses per level.
MAX_JSON_DEPTH = 32
#: JSON spends at most 12 bytes on one character ("\\ud83d\\ude00"); the rest of a body is small.
BYTES_PER_PROMPT_CHAR = 12
BODY_OVERHEAD = 64 * 1024

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def max_body_bytes(max_prompt_chars: int) -> int:
    return BYTES_PER_PROMPT_CHAR * max_prompt_chars + BODY_OVERHEAD


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (brackets inside strings do not count); linear, no recursion."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(_DEPTH_STEP[c] for c in brackets), default=0)


def parse_json_body(raw: bytes, max_bytes: int) -> Any:
    """A request body as JSON: too big is a 413, too deep, malformed or not UTF-8 a 400; ``None`` when empty."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The request body has {len(raw):,} bytes; the limit is {max_bytes:,}.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: it is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        return None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"The body is not valid JSON here: it nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from None


# -- text fields --------------------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def check_text(value: str, name: str, *, control_chars: bool = True) -> str:
    """``value`` if the store can keep it: no lone surrogate (unencodable as UTF-8); no control characters (NUL
    included) where ``control_chars`` is false, as in ids and paths. Else a 400 naming the field."""
    bad = _SURROGATE.search(value)
    if bad:
        raise BadRequest(
            f"'{name}' is not valid Unicode: a lone surrogate (\\u{ord(bad.group()):04x}) at character {bad.start()}"
        )
    if not control_chars:
        bad = _CONTROL.search(value)
        if bad:
            raise BadRequest(
                f"'{name}' must not contain control characters (\\x{ord(bad.group()):02x} at character {bad.start()})"
            )
    return value


def _optional_str(body: dict[str, Any], key: str, *, control_chars: bool = False, limit: int = 200) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise BadRequest(f"'{key}' is too long ({len(value):,} characters; at most {limit:,})")
    return check_text(value, key, control_chars=control_chars)


def normalize_notebook_path(path: str) -> str:
    """A server-relative API path (``dir/a.ipynb``); refuse anything that climbs out of the root."""
    check_text(path, "notebook_path", control_chars=False)
    if "\\" in path:
        raise BadRequest("'notebook_path' must be a relative path with / separators")
    cleaned = posixpath.normpath("/" + path.strip().lstrip("/"))[1:]
    if path.strip() and ".." in path.split("/"):
        raise BadRequest("'notebook_path' must not contain '..'")
    return cleaned


# -- POST /codeinterp/runs ----------------------------------------------------------------------------


@dataclass
class StartRequest:
    kernel_id: str
    prompt: str
    notebook_path: str = ""
    #: ``None``: continue the notebook's latest thread; ``"new"``: start one; else an existing thread's id.
    thread_id: str | None = None
    #: Overrides ``CodeInterpreter.model`` for this run (e.g. one picked from ``GET /codeinterp/models``).
    model: str | None = None
    #: ``ask``: pause before each execution; ``auto``: do not; ``None``: ``CodeInterpreter.approval``.
    approval: str | None = None
    #: Files attached to the prompt, relative to the server's root (checked against the disk by the service).
    files: list[str] = field(default_factory=list)
    #: Settings of ``CodeInterpreter`` for this run only (other doors, e.g. the OpenAI facade's ``instructions``).
    overrides: dict[str, Any] = field(default_factory=dict)
    #: More run hooks, after the service's own (e.g. the facade's ``max_output_tokens``).
    hooks: list[Any] = field(default_factory=list)


def parse_start_request(body: Any, max_prompt_chars: int) -> StartRequest:
    """Validate ``POST /codeinterp/runs``; every problem is a ``BadRequest`` (or 413) saying what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object: {"kernel_id": "...", "prompt": "..."}')
    kernel_id = _optional_str(body, "kernel_id")
    if not kernel_id:
        raise BadRequest("'kernel_id' is required: the id of a running kernel (GET /api/kernels)")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise BadRequest(f"'prompt' must be a string, got {type(prompt).__name__}")
    if prompt is None or not prompt.strip():
        raise BadRequest("'prompt' is required and must not be empty")
    if len(prompt) > max_prompt_chars:
        raise PayloadTooLarge(
            f"The prompt has {len(prompt):,} characters; the limit is {max_prompt_chars:,} "
            "(CodeInterpreterApp.max_prompt_chars)."
        )
    check_text(prompt, "prompt")  # a prompt is text: newlines, tabs, even NUL are the user's business
    notebook_path = normalize_notebook_path(_optional_str(body, "notebook_path", limit=4096) or "")
    thread_id = _optional_str(body, "thread_id") or None
    model = (_optional_str(body, "model") or "").strip() or None
    approval = _optional_str(body, "approval")
    if approval is not None and approval not in APPROVAL_MODES:
        raise BadRequest(f"'approval' must be 'auto' or 'ask', got {_shown(approval)}")
    files = body.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise BadRequest("'files' must be a list of paths relative to the Jupyter root")
    from .attachments import MAX_FILES, AttachmentError, check_name

    if len(files) > MAX_FILES:
        raise BadRequest(f"at most {MAX_FILES} files can be attached to one prompt, got {len(files)}")
    for name in files:
        check_text(name, "file path")
        try:
            check_name(name)
        except AttachmentError as exc:
            raise BadRequest(f"'files': {exc}") from None
    return StartRequest(kernel_id, prompt, notebook_path, thread_id, model, approval, list(dict.fromkeys(files)))


# -- POST /codeinterp/runs/{id}/approval --------------------------------------------------------------

APPROVAL_MODES = ("auto", "ask")
APPROVAL_ACTIONS = ("run", "edit", "skip", "stop")
MAX_REASON_CHARS = 2000


@dataclass
class ApprovalRequest:
    step: int
    action: str
    #: ``edit``: the code to run instead.
    code: str | None = None
    #: ``skip``: why, told to the model.
    reason: str = ""


def parse_approval_request(body: Any, max_code_chars: int) -> ApprovalRequest:
    """Validate a decision for a paused step; every problem is a ``BadRequest`` (or 413) saying what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest('The body must be a JSON object: {"step": 1, "action": "run" | "edit" | "skip" | "stop"}')
    step = body.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= MAX_SEQ:
        raise BadRequest(f"'step' must be the paused step's number (a positive integer), got {_shown(repr(step))}")
    action = body.get("action")
    if action not in APPROVAL_ACTIONS:
        raise BadRequest(f"'action' must be one of run, edit, skip, stop; got {_shown(repr(action))}")
    code = body.get("code")
    if action == "edit":
        if not isinstance(code, str) or not code.strip():
            raise BadRequest("'code' is required for 'edit': the code to run instead (not empty)")
        if len(code) > max_code_chars:
            raise PayloadTooLarge(f"The code has {len(code):,} characters; the limit is {max_code_chars:,}.")
        check_text(code, "code")
    elif code is not None:
        raise BadRequest(f"'code' goes only with 'edit', not with {action!r}")
    reason = _optional_str(body, "reason", control_chars=True, limit=MAX_REASON_CHARS) or ""
    if reason and action != "skip":
        raise BadRequest(f"'reason' goes only with 'skip', not with {action!r}")
    return ApprovalRequest(step, str(action), code if action == "edit" else None, reason.strip())


# -- query arguments ----------------------------------------------------------------------------------

#: Larger than any run's log, small enough for SQLite's 64-bit integers.
MAX_SEQ = 2**53


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def parse_after(value: str | None) -> int:
    """The ``after`` query argument of the events stream: a non-negative integer, default 0."""
    if value is None or value == "":
        return 0
    try:
        after = int(value) if len(value) <= 20 else -1
    except ValueError:
        after = -1
    if not 0 <= after <= MAX_SEQ:
        raise BadRequest(f"'after' must be a non-negative integer (an event's seq), got {_shown(value)}")
    return after


def parse_since(value: str) -> float:
    """The ``since`` query argument of the runs listing: a server time (seconds), as its ``now`` gave it."""
    try:
        since = float(value)
    except ValueError:
        since = math.nan
    if not (math.isfinite(since) and since >= 0):
        raise BadRequest(f"'since' must be a time in seconds (the 'now' of a previous answer), got {_shown(value)}")
    return since
