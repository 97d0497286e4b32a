"""The model side: an ``openai`` client configured from ``CodeInterpreter``, and readers for its streams.

Retries of a request (429, 5xx, connection errors, timeouts, with backoff and Retry-After) are the openai
client's own: we only set ``max_retries`` and ``timeout``. A stream that breaks or ends before its finish reason is
past the client's reach; the loop asks again itself (``unfinished``, ``is_stream_break``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .redaction import redact

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from .config import CodeInterpreter

PYTHON_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "python",
        "description": (
            "Execute Python code in a stateful Jupyter kernel (IPython). Variables, imports and files persist "
            "between calls. Returns stdout, stderr, the value of the last expression, displayed outputs and "
            "any error with its traceback. Plots (matplotlib) and rich outputs are shown to the user."
        ),
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python code to run."}},
            "required": ["code"],
        },
    },
}


class LLMError(RuntimeError):
    """The model endpoint failed in a way that ends the run; the message is safe to show (no key)."""


def make_client(config: CodeInterpreter) -> AsyncOpenAI:
    from openai import AsyncOpenAI

    return AsyncOpenAI(
        api_key=config.resolved_api_key(),
        base_url=config.resolved_base_url,
        max_retries=config.max_retries,
        timeout=config.request_timeout,
    )


def describe_error(exc: BaseException, config: CodeInterpreter) -> str:
    """One actionable line for a failed model call, naming the endpoint and model, never the key."""
    import openai

    where = f"{config.resolved_base_url} (model {config.model!r})"
    tries = f"after {config.max_retries + 1} attempts"
    if isinstance(exc, openai.AuthenticationError):
        text = f"The model endpoint {where} rejected the API key (401): check OPENAI_API_KEY."
    elif isinstance(exc, openai.PermissionDeniedError):
        text = f"The model endpoint {where} refused access (403): the key may lack access to this model."
    elif isinstance(exc, openai.NotFoundError):
        text = (
            f"The model endpoint {where} answered 404: check the model name (CODEINTERP_MODEL) "
            "and the base URL (OPENAI_BASE_URL)."
        )
    elif isinstance(exc, openai.RateLimitError):
        text = f"The model endpoint {where} is still rate-limiting (429) {tries}."
    elif isinstance(exc, openai.APITimeoutError):
        text = f"The model endpoint {where} timed out {tries}."
    elif isinstance(exc, openai.APIConnectionError):
        text = f"Could not reach the model endpoint {where} {tries}: is the server running?"
    elif isinstance(exc, openai.APIStatusError):
        detail = _short_detail(exc)
        text = f"The model endpoint {where} answered HTTP {exc.status_code}{detail}."
    else:
        text = f"The model stream from {where} failed: {type(exc).__name__}: {exc}"
    return redact(text, config.api_key)


def _kinds(exc: BaseException) -> set[str]:
    """The names of ``exc``'s classes: the openai client's transport is httpx or its successor httpx2, whose
    exception classes have the same names."""
    return {cls.__name__ for cls in type(exc).__mro__}


def is_stream_break(exc: BaseException) -> bool:
    """Did the connection break while the reply streamed (reset, closed mid-body, stalled past the timeout)?

    Such a stream is cut off, like one that ends without a finish reason: safe to ask again.
    """
    import openai

    return isinstance(exc, openai.APIConnectionError) or "TransportError" in _kinds(exc)


def unfinished(reply: Reply) -> str | None:
    """Why a streamed reply is not a whole answer: ``"cut"`` (no finish reason: the stream ended or broke early),
    ``"length"`` (the model hit its output token limit); None when it finished.

    Any other finish reason counts as finished: ``stop`` and ``tool_calls``, and the variants some servers send.
    llama.cpp, Ollama and vLLM all send one in their last chunk.
    """
    if reply.finish_reason == "length":
        return "length"
    return None if reply.finish_reason else "cut"


def describe_unfinished(problem: str, broken: BaseException | None, config: CodeInterpreter) -> str:
    """The reason a run ends when its model stream never finished, after ``max_retries`` more tries."""
    attempts = config.max_retries + 1
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    where = f"{config.resolved_base_url} (model {config.model!r})"
    if problem == "length":
        text = (
            f"The answer was truncated: the model hit its output token limit ({tries}; {where}). "
            "Raise the server's output limit or ask for a shorter answer."
        )
    else:
        text = f"The model stream was cut off before it finished{_break_detail(broken, config)} ({tries}; {where})."
    return redact(text, config.api_key)


def _break_detail(exc: BaseException | None, config: CodeInterpreter) -> str:
    import openai

    if exc is None:
        return ""
    if isinstance(exc, openai.APIConnectionError) and exc.__cause__ is not None:
        exc = exc.__cause__  # the client wraps transport errors mid-stream in APIConnectionError
    kinds = _kinds(exc)
    if kinds & {"TimeoutException", "APITimeoutError"}:
        return f": nothing arrived for {config.request_timeout:g} s"
    if "RemoteProtocolError" in kinds:
        return ": the server closed the connection mid-answer"
    if "ReadError" in kinds:
        return ": the connection was reset"
    return f": {type(exc).__name__}"


def _short_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if not message and isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
    return f": {str(message)[:300]}" if message else ""


def rejects_tools(exc: BaseException) -> bool:
    """Does this 400/422 say the endpoint or model cannot do tool calling?"""
    import openai

    if not isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return False
    return bool(re.search(r"tool|function", str(exc), re.IGNORECASE))


class CodeArgStream:
    """Decodes the ``code`` string of streamed tool-call arguments as far as it has arrived.

    Arguments come in arbitrary chunks of JSON text (``{"code": "import pandas as pd\\nprint(``); the UI wants
    the code itself, growing. ``feed`` returns the newly decoded code text.
    """

    _START = re.compile(r'\{\s*"code"\s*:\s*"')
    _ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

    def __init__(self) -> None:
        self.raw = ""
        self._pos: int | None = None  # index in raw where undecoded string content starts
        self._done = False
        self.code = ""

    def feed(self, chunk: str) -> str:
        self.raw += chunk
        if self._done:
            return ""
        if self._pos is None:
            match = self._START.match(self.raw)
            if not match:
                return ""
            self._pos = match.end()
        out: list[str] = []
        raw, i = self.raw, self._pos
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self._done = True
                i += 1
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            if i + 1 >= len(raw):
                break  # escape split across chunks
            esc = raw[i + 1]
            if esc == "u":
                if i + 6 > len(raw):
                    break
                code_point = int(raw[i + 2 : i + 6], 16)
                if 0xD800 <= code_point < 0xDC00:  # surrogate pair: need the low half too
                    if i + 12 > len(raw):
                        break
                    low = int(raw[i + 8 : i + 12], 16)
                    out.append(chr(0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00)))
                    i += 12
                    continue
                out.append(chr(code_point))
                i += 6
                continue
            out.append(self._ESCAPES.get(esc, esc))
            i += 2
        self._pos = i
        text = "".join(out)
        self.code += text
        return text


class FenceStream:
    """Splits streamed markdown into prose and the first ```python block, for models without tool calling."""

    OPEN = re.compile(r"```(?:python|py|python3)?[ \t]*\n")

    def __init__(self) -> None:
        self.text = ""
        self._state = "prose"  # prose -> code -> after
        self._emitted_prose = 0
        self._code_start = 0
        self._emitted_code = 0
        self.code: str | None = None

    def feed(self, chunk: str) -> tuple[str, str, bool]:
        """Return (new prose, new code, whether a code block just started)."""
        self.text += chunk
        prose, code, started = "", "", False
        if self._state == "prose":
            match = self.OPEN.search(self.text, self._emitted_prose)
            if match:
                prose = self.text[self._emitted_prose : match.start()]
                self._emitted_prose = match.start()
                self._state, self._code_start, started = "code", match.end(), True
                self._emitted_code = self._code_start
                self.code = ""
            else:
                # Hold back the last line from its first backtick: it may be an opening fence in the making.
                line_start = self.text.rfind("\n") + 1
                tick = self.text.find("`", max(line_start, self._emitted_prose))
                safe = tick if tick != -1 else len(self.text)
                prose = self.text[self._emitted_prose : safe]
                self._emitted_prose = safe
        if self._state == "code":
            end = self.text.find("\n```", self._code_start - 1)
            stop = end if end != -1 else len(self.text)
            # Hold back a trailing newline/backticks that may begin the closing fence.
            if end == -1:
                tail = re.search(r"\n`{0,2}$", self.text[self._emitted_code :])
                if tail:
                    stop = self._emitted_code + tail.start()
            stop = max(stop, self._emitted_code)
            code = self.text[self._emitted_code : stop]
            self._emitted_code = stop
            self.code = self.text[self._code_start : stop]
            if end != -1:
                self._state = "after"
        return prose, code, started

    def finish(self) -> str:
        """Flush held-back prose at the end of the stream."""
        if self._state == "prose":
            rest = self.text[self._emitted_prose :]
            self._emitted_prose = len(self.text)
            return rest
        return ""


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str = ""
    stream: CodeArgStream = field(default_factory=CodeArgStream)
    step: int | None = None


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, int] | None = None
    finish_reason: str | None = None
    #: The error that broke the stream before it finished, if one did.
    broken: BaseException | None = None


def parse_code_arguments(arguments: str) -> str:
    """The ``code`` of a python tool call, or ValueError saying what is wrong with the arguments."""
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"The tool-call arguments are not valid JSON ({exc}).") from exc
    if not isinstance(value, dict) or not isinstance(value.get("code"), str):
        raise ValueError('The tool-call arguments must be a JSON object {"code": "<python source>"}.')
    return str(value["code"])


def parse_json_tool_text(content: str) -> str | None:
    """Code from a reply whose whole text is a JSON tool call (local models that print calls instead of making them)."""
    text = content.strip()
    # llama-cpp-python's chatml-function-calling prompt teaches ``functions.python:\n{...}``; models echo it as text.
    text = re.sub(r"^(?:functions\.)?python:\s*", "", text)
    if text.startswith("```"):
        text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text)
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("code"), str) and len(value) == 1:
        return str(value["code"])
    if value.get("name") == "python":
        args = value.get("arguments", value.get("parameters"))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                return None
        if isinstance(args, dict) and isinstance(args.get("code"), str):
            return str(args["code"])
    return None
