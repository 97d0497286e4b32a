"""Keeping the API key, and anything that looks like a key, out of everything a run produces.

Kernels inherit the environment of whoever started them, so code can print ``OPENAI_API_KEY``; model error
bodies can echo it. Whatever leaves the engine (events, step outputs, tool results sent back to the model, reasons)
passes through here. What is replaced by ``[redacted]``:

- the configured key wherever it occurs, and the pieces of it that code printing it in parts leaves: a prefix or a
  suffix of 8 or more of its characters, and any 15 or more consecutive characters of it (for short keys, half
  the key instead of 8; keys under 12 characters, the dummies of local servers, are not secret and not matched);
- tokens that look like provider keys, by their distinctive prefixes (``KEY_PATTERNS``): ``sk-`` followed by a
  run of 20+ letters and digits that holds a digit (OpenAI ``sk-``/``sk-proj-``/``sk-svcacct-``, Anthropic
  ``sk-ant-``, OpenRouter ``sk-or-v1-``, DeepSeek and most OpenAI-compatible providers), Groq ``gsk_``, Hugging
  Face ``hf_``, GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_`` and Slack ``xox?-`` tokens.
  Each needs a ``-`` or ``_`` in its prefix, which standard base64 lacks, so image data is never touched. Bare hex
  or base64 strings (Azure keys, AWS secrets) are not matched: in ordinary data they are hashes and ids.

Streams (a step's stdout, the model's text) arrive in pieces: ``StreamRedactor`` redacts their accumulated text,
holding back a tail that could be the start of a key until the next piece or the end shows what it is.
This is a safety net against showing a key by accident or in pieces, not a barrier against code set on leaking it
(which could encode it first).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, TypeVar

T = TypeVar("T")

REDACTED = "[redacted]"
#: Shorter keys (dummy keys for local servers, e.g. "ollama") are not scrubbed: too many false hits, nothing secret.
MIN_SECRET_CHARS = 12
#: The shortest prefix or suffix of the key that is redacted on its own (a split key leaves one of each).
FRAGMENT_CHARS = 8
#: A held-back tail longer than this is let go: no key-like token is this long.
MAX_HOLD_CHARS = 512

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
KEY_PATTERNS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-[A-Za-z0-9_-]*?[A-Za-z0-9]{20}[A-Za-z0-9_-]*"
    r"|gsk_[A-Za-z0-9]{20,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abeprs]-[A-Za-z0-9-]{10,}"
    r")"
)
#: Where a key-like token can begin: a trailing token that starts one (or may still become one) is held back.
KEY_PREFIXES = (
    "sk-",
    "gsk_",
    "hf_",
    *(f"gh{c}_" for c in "pousr"),
    "github_pat_",
    *(f"xox{c}-" for c in "abeprs"),
)
_HINT = re.compile("|".join(re.escape(p) for p in KEY_PREFIXES))


def _looks_like_key(match: re.Match[str]) -> str:
    token = match.group(0)
    return REDACTED if any(c.isdigit() for c in token) else token


class _Secret:
    """The configured key and the anchors that find its pieces: every piece worth redacting contains one."""

    def __init__(self, secret: str) -> None:
        self.text = secret
        n = len(secret)
        self.fragment = min(FRAGMENT_CHARS, n // 2)
        starts = sorted({*range(0, n - self.fragment + 1, self.fragment), n - self.fragment})
        self.anchors = [(secret[o : o + self.fragment], o) for o in starts]
        self.json_anchors = [json.dumps(a)[1:-1] for a, _ in self.anchors]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where ``text`` holds a run of the key's characters that contains an anchor, merged."""
        key, n = self.text, len(self.text)
        found: list[tuple[int, int]] = []
        for anchor, offset in self.anchors:
            i = text.find(anchor)
            while i != -1:
                start, k = i, offset
                while start > 0 and k > 0 and text[start - 1] == key[k - 1]:
                    start, k = start - 1, k - 1
                end, k = i + len(anchor), offset + len(anchor)
                while end < len(text) and k < n and text[end] == key[k]:
                    end, k = end + 1, k + 1
                found.append((start, end))
                i = text.find(anchor, end)
        found.sort()
        merged: list[tuple[int, int]] = []
        for start, end in found:
            if merged and start < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def redact(self, text: str) -> str:
        spans = self.spans(text) if any(a in text for a, _ in self.anchors) else []
        if not spans:
            return text
        parts, at = [], 0
        for start, end in spans:
            parts.append(text[at:start])
            parts.append(REDACTED)
            at = end
        parts.append(text[at:])
        return "".join(parts)


@functools.lru_cache(maxsize=8)
def _secret(secret: str | None) -> _Secret | None:
    return _Secret(secret) if secret and len(secret) >= MIN_SECRET_CHARS else None


def _redact(text: str, key: _Secret | None) -> str:
    if key is not None:
        text = key.redact(text)
    if _HINT.search(text):
        text = KEY_PATTERNS.sub(_looks_like_key, text)
    return text


def redact(text: str, secret: str | None) -> str:
    """``text`` with the key, its pieces and key-like tokens replaced."""
    return _redact(text, _secret(secret))


def scrub(value: T, secret: str | None) -> T:
    """A JSON-able ``value`` (event, outputs, messages) with ``redact`` applied to every string in it."""
    key = _secret(secret)
    dumped = json.dumps(value)
    # Fast path for the common case: nothing in it could match.
    if not _HINT.search(dumped) and (key is None or not any(a in dumped for a in key.json_anchors)):
        return value
    return _walk(value, key)  # type: ignore[no-any-return]


def _walk(value: Any, key: _Secret | None) -> Any:
    if isinstance(value, str):
        return _redact(value, key)
    if isinstance(value, dict):
        return {_walk(k, key): _walk(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, key) for v in value]
    return value


class StreamRedactor:
    """Redacts one stream of text (a step's stdout, say) however it is cut into pieces.

    ``feed`` returns what is safe to show now. It holds back a tail that could be the start of the key or of a
    key-like token, until the next piece shows what it is; ``flush`` returns that tail, redacted, at the end.
    """

    def __init__(self, secret: str | None) -> None:
        self._key = _secret(secret)
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        cut = self._hold_from(text)
        self._held = text[cut:]
        return _redact(text[:cut], self._key) if cut else ""

    def flush(self) -> str:
        rest, self._held = self._held, ""
        return _redact(rest, self._key) if rest else ""

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def _hold_from(self, text: str) -> int:
        """Where the tail to hold back starts (``len(text)`` for none)."""
        cut = len(text)
        key = self._key
        if key is not None:
            # The longest tail that is a proper prefix of the key.
            first = key.text[0]
            i = text.find(first, max(0, len(text) - len(key.text) + 1))
            while i != -1:
                if key.text.startswith(text[i:]):
                    cut = i
                    break
                i = text.find(first, i + 1)
        # A trailing token that is, or may grow into, a key-like token: held whole, so no part of it goes out.
        start = len(text)
        floor = max(0, len(text) - MAX_HOLD_CHARS - 1)
        while start > floor and text[start - 1] in _TOKEN_CHARS:
            start -= 1
        token = text[start:]
        if token and (start > floor or floor == 0) and _may_be_key_token(token):
            cut = min(cut, start)
        return cut


class OutputRedactor:
    """A step's live outputs, redacted: each stream (stdout, stderr) as one text however it was flushed, so a key
    printed in pieces never goes out in pieces. Held-back text goes out before any other output, to keep order."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret
        self._streams: dict[str, StreamRedactor] = {}

    def feed(self, output: dict[str, Any]) -> list[dict[str, Any]]:
        """The outputs to show now for one live nbformat output (none while a stream's piece is held back)."""
        if output.get("output_type") != "stream":
            return [*self.flush(), scrub(output, self._secret)]
        name = str(output.get("name", "stdout"))
        text = output.get("text", "")
        redactor = self._streams.setdefault(name, StreamRedactor(self._secret))
        shown = redactor.feed(text if isinstance(text, str) else "".join(text))
        return [{**output, "text": shown}] if shown else []

    def flush(self) -> list[dict[str, Any]]:
        """What the streams hold back, at the end of the step (or before another output)."""
        out: list[dict[str, Any]] = []
        for name, redactor in self._streams.items():
            rest = redactor.flush()
            if rest:
                out.append({"output_type": "stream", "name": name, "text": rest})
        return out


def _may_be_key_token(token: str) -> bool:
    return any(token.startswith(p) or p.startswith(token) for p in KEY_PREFIXES)
