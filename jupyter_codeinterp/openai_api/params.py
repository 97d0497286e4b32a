"""``POST /v1/responses`` bodies, checked: what this server honours, what it accepts as given, and a 400 naming
anything else (never silently ignored)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import bad_request, unsupported

#: Accepted and echoed back in the Response; they change nothing on a local server (``docs/openai-api.md``).
ECHOED = (
    "model",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "service_tier",
    "truncation",
    "top_p",
    "text",
)
#: Everything a request may carry: the honoured parameters and the echoed ones. Anything else is a 400.
ACCEPTED = {
    "input",
    "instructions",
    "tools",
    "previous_response_id",
    "include",
    "stream",
    "background",
    "max_output_tokens",
    "max_tool_calls",
    "temperature",
    "metadata",
    "store",
    "stream_options",
    *ECHOED,
}
INCLUDES = {"code_interpreter_call.outputs"}


@dataclass
class Attachment:
    """A file the input gives the code: an uploaded file's id, or bytes sent inline."""

    file_id: str | None = None
    filename: str = ""
    data: bytes | None = None


@dataclass
class ResponseRequest:
    prompt: str
    context: str = ""
    instructions: str | None = None
    container: str | dict[str, Any] = field(default_factory=lambda: {"type": "auto"})
    previous_response_id: str | None = None
    include_outputs: bool = False
    stream: bool = False
    background: bool = False
    store: bool = True
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    temperature: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    #: Fields echoed in the Response as they were sent.
    echo: dict[str, Any] = field(default_factory=dict)


def parse_request(body: Any, max_prompt_chars: int) -> ResponseRequest:
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.")
    for key in body:
        if key not in ACCEPTED:
            raise unsupported(key)
    req = ResponseRequest(prompt="")
    _tools(body, req)
    _input(body.get("input"), req)
    if len(req.prompt) + len(req.context) > max_prompt_chars:
        raise bad_request(
            f"The input has {len(req.prompt) + len(req.context):,} characters; this server takes at most "
            f"{max_prompt_chars:,} (CodeInterpreterApp.max_prompt_chars).",
            "input",
            "string_above_max_length",
        )
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise bad_request("'instructions' must be a string.", "instructions")
    if instructions:
        req.instructions = "\n\n".join(p for p in (req.instructions, instructions) if p)
    req.previous_response_id = _opt_str(body, "previous_response_id")
    include = body.get("include") or []
    if not isinstance(include, list) or any(i not in INCLUDES for i in include):
        raise unsupported("include", f"Only {sorted(INCLUDES)} is.")
    req.include_outputs = "code_interpreter_call.outputs" in include
    req.stream = _opt_bool(body, "stream")
    req.background = _opt_bool(body, "background")
    req.store = body.get("store") is not False
    req.max_output_tokens = _opt_int(body, "max_output_tokens", 16)
    req.max_tool_calls = _opt_int(body, "max_tool_calls", 1)
    req.temperature = check_temperature(body)
    if body.get("top_p") not in (None, 1, 1.0):
        raise unsupported("top_p", "Use temperature.")
    text = body.get("text")
    if text is not None and (text.get("format") or {"type": "text"}).get("type") != "text":
        raise unsupported("text.format", "Answers are plain text here.")
    if body.get("truncation") not in (None, "auto", "disabled"):
        raise bad_request("'truncation' must be 'auto' or 'disabled'.", "truncation")
    req.metadata = check_metadata(body.get("metadata"))
    for key in ECHOED:
        if key in body:
            req.echo[key] = body[key]
    return req


def _tools(body: dict[str, Any], req: ResponseRequest) -> None:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        raise bad_request(
            "'tools' must list the code_interpreter tool: this server runs code, "
            'tools=[{"type": "code_interpreter", "container": {"type": "auto"}}].',
            "tools",
        )
    found = None
    for n, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind != "code_interpreter":
            raise bad_request(
                f"Unsupported tool type {kind!r} (tools[{n}]): this server serves only 'code_interpreter'.",
                f"tools[{n}].type",
                "unsupported_tool",
            )
        if found is not None:
            raise bad_request("Give the code_interpreter tool once.", f"tools[{n}]")
        found = tool
        for key in tool:
            if key not in ("type", "container"):
                raise unsupported(f"tools[{n}].{key}")
    assert found is not None
    container = found.get("container", {"type": "auto"})
    if isinstance(container, str) or (isinstance(container, dict) and container.get("type") == "auto"):
        req.container = container
    else:
        raise bad_request('\'container\' must be a container id or {"type": "auto", ...}.', "tools[0].container")
    choice = body.get("tool_choice")
    if choice not in (None, "auto", "required") and not (
        isinstance(choice, dict) and choice.get("type") == "code_interpreter"
    ):
        raise unsupported("tool_choice", "It may be 'auto', 'required' or the code_interpreter tool.")


def _input(value: Any, req: ResponseRequest) -> None:
    if isinstance(value, str):
        if not value.strip():
            raise bad_request("'input' must not be empty.", "input")
        req.prompt = value
        return
    if not isinstance(value, list) or not value:
        raise bad_request("'input' must be a string or a non-empty list of input items.", "input")
    context: list[str] = []
    system: list[str] = []
    last_user = None
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            raise bad_request(f"input[{n}] must be an object.", f"input[{n}]")
        kind = item.get("type", "message")
        if kind == "code_interpreter_call":
            context.append(f"[code run earlier]\n{item.get('code') or ''}")
            continue
        if kind != "message":
            raise bad_request(f"Unsupported input item type {kind!r} (input[{n}]).", f"input[{n}].type")
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise bad_request(f"input[{n}].role must be user, assistant, system or developer.", f"input[{n}].role")
        text, files = _content(item.get("content"), f"input[{n}].content", role == "user")
        if role in ("system", "developer"):
            system.append(text)
        elif role == "user" and n == len(value) - 1:
            last_user = (text, files)
        else:
            context.append(f"{role}: {text}")
            if files:
                raise bad_request("Files may be given only in the last user message.", f"input[{n}].content")
    if last_user is None:
        raise bad_request("The last input item must be a user message: what to do now.", "input")
    req.prompt, req.attachments = last_user
    if not req.prompt.strip():
        req.prompt = "See the attached file(s)." if req.attachments else ""
    if not req.prompt:
        raise bad_request("The last user message has no text.", "input")
    if context:
        req.context = "Earlier in this conversation:\n" + "\n\n".join(context)
    if system:
        req.instructions = "\n\n".join(system)


def _content(content: Any, param: str, files_allowed: bool) -> tuple[str, list[Attachment]]:
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise bad_request(f"{param} must be a string or a list of content parts.", param)
    texts: list[str] = []
    files: list[Attachment] = []
    for n, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        where = f"{param}[{n}]"
        if kind in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
        elif kind in ("input_file", "input_image") and files_allowed:
            files.append(_attachment(part, kind, where, sum(1 for f in files if f.data is not None)))
        else:
            raise bad_request(f"Unsupported content part {kind!r} ({where}).", f"{where}.type")
    return "\n".join(texts), files


_DATA_URL = re.compile(r"^data:([\w.+/-]+)?(;[\w=.-]+)*;base64,(.*)$", re.S)
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


def _attachment(part: dict[str, Any], kind: str, where: str, n: int) -> Attachment:
    if part.get("file_id"):
        return Attachment(file_id=str(part["file_id"]))
    inline = part.get("file_data") if kind == "input_file" else part.get("image_url")
    if isinstance(inline, str):
        match = _DATA_URL.match(inline)
        if match is None:
            if kind == "input_image":
                raise unsupported(f"{where}.image_url", "This server fetches nothing: send a data: URL or a file_id.")
            raise bad_request(f"{where}.file_data must be a base64 data: URL.", f"{where}.file_data")
        try:
            data = base64.b64decode(match.group(3), validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"{where}: the data URL is not valid base64.", where) from None
        name = part.get("filename") or f"image-{n + 1}{_EXT.get(match.group(1) or '', '.png')}"
        return Attachment(filename=str(name), data=data)
    if part.get("file_url"):
        raise unsupported(f"{where}.file_url", "This server fetches nothing: upload it (POST /v1/files).")
    raise bad_request(f"{where} needs a file_id or inline data.", where)


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string.", key)
    return value or None


def _opt_bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"'{key}' must be true or false.", key)
    return bool(value)


def _opt_int(body: dict[str, Any], key: str, minimum: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise bad_request(f"'{key}' must be an integer of at least {minimum}.", key)
    return value


def check_metadata(value: Any) -> dict[str, str]:
    """OpenAI's metadata: at most 16 string pairs, keys of at most 64 characters, values of at most 512."""
    if value is None:
        return {}
    if (
        not isinstance(value, dict)
        or len(value) > 16
        or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512 for k, v in value.items()
        )
    ):
        raise bad_request(
            "'metadata' must be an object of at most 16 string pairs (keys ≤ 64, values ≤ 512).", "metadata"
        )
    return dict(value)


def check_temperature(body: dict[str, Any]) -> float | None:
    temperature = body.get("temperature")
    if temperature is None:
        return None
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise bad_request("'temperature' must be a number from 0 to 2.", "temperature")
    return float(temperature)
