"""Keeping the API key out of everything a run produces.

Kernels inherit the environment of whoever started them, so code can print ``OPENAI_API_KEY``; model error
bodies can echo it. Whatever leaves the engine (events, step outputs, tool results sent back to the model, reasons)
passes through here.
"""

from __future__ import annotations

import json
from typing import TypeVar

T = TypeVar("T")

#: Shorter keys (dummy keys for local servers, e.g. "ollama") are not scrubbed: too many false hits, nothing secret.
MIN_SECRET_CHARS = 12


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of the key replaced."""
    if secret and len(secret) >= MIN_SECRET_CHARS and secret in text:
        return text.replace(secret, "[redacted]")
    return text


def scrub(value: T, secret: str | None) -> T:
    """A JSON-able ``value`` (event, outputs, messages) with the key replaced wherever it occurs."""
    if not secret or len(secret) < MIN_SECRET_CHARS:
        return value
    text = json.dumps(value)
    if secret not in text:
        return value
    # The key is JSON-escaped the same way inside the dump, so a plain replace is exact.
    return json.loads(text.replace(json.dumps(secret)[1:-1], "[redacted]"))  # type: ignore[no-any-return]
