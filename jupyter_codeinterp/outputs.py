"""Turning kernel outputs into what the model reads: plain text, head+tail truncated, images as parts or notes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .events import Output

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def truncate(text: str, limit: int, *, keep: str = "both") -> str:
    """Cut ``text`` to about ``limit`` characters, saying how much was cut and where.

    ``keep="both"`` keeps head and tail (the start of a listing and the end of a log are both useful);
    ``keep="tail"`` favours the tail, where a traceback's cause is.
    """
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    head_len = limit // 2 if keep == "both" else limit // 5
    tail_len = limit - head_len
    head = text[:head_len]
    tail = text[len(text) - tail_len :]
    return f"{head}\n[... {cut} characters truncated ...]\n{tail}"


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


@dataclass
class ModelView:
    """What one execution looks like to the model."""

    text: str
    images: list[tuple[str, str]] = field(default_factory=list)  # (mime, base64 data)


def error_text(output: Output) -> str:
    tb = "\n".join(strip_ansi(line) for line in output.get("traceback", []))
    head = f"{output.get('ename', 'Error')}: {strip_ansi(str(output.get('evalue', '')))}"
    return f"{head}\n{tb}" if tb else head


def render_for_model(outputs: list[Output], *, limit: int, vision: bool) -> ModelView:
    """Flatten nbformat outputs to text for the model, in order, keeping stdout, stderr, results and errors."""
    parts: list[str] = []
    images: list[tuple[str, str]] = []
    has_error = False
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            text = strip_ansi(_as_text(out.get("text", "")))
            parts.append(text if out.get("name") != "stderr" else f"[stderr]\n{text}")
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            image = next((m for m in IMAGE_MIMES if m in data), None)
            if image is not None:
                if vision:
                    images.append((image, _as_text(data[image]).replace("\n", "")))
                    parts.append(f"[image {len(images)}: {image}, attached below]")
                else:
                    parts.append(f"[an image ({image}) was displayed to the user; you cannot see it]")
            elif "text/plain" in data:
                parts.append(strip_ansi(_as_text(data["text/plain"])))
            elif "text/markdown" in data:
                parts.append(_as_text(data["text/markdown"]))
            elif "text/html" in data:
                parts.append("[HTML output]\n" + _as_text(data["text/html"]))
            elif data:
                parts.append(f"[output of type {', '.join(sorted(data))}]")
        elif kind == "error":
            has_error = True
            parts.append(error_text(out))
    text = "\n".join(p.rstrip("\n") for p in parts if p).strip("\n")
    return ModelView(truncate(text, limit, keep="tail" if has_error else "both"), images)


def settle_live(outputs: list[Output]) -> list[Output]:
    """The final outputs of a step that ended early, from its live outputs (clear markers applied, streams merged)."""
    settled: list[Output] = []
    clear_pending = False
    for out in outputs:
        if out.get("output_type") == "clear_output":
            if out.get("wait"):
                clear_pending = True
            else:
                settled.clear()
            continue
        if clear_pending:
            settled.clear()
            clear_pending = False
        settled.append(out)
    return coalesce(settled)


def coalesce(outputs: list[Output]) -> list[Output]:
    """Merge consecutive stream outputs of the same name, as a notebook shows them."""
    merged: list[Output] = []
    for out in outputs:
        if (
            merged
            and out.get("output_type") == "stream"
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == out.get("name")
        ):
            merged[-1] = {**merged[-1], "text": _as_text(merged[-1]["text"]) + _as_text(out["text"])}
        else:
            merged.append(dict(out))
    return merged
