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


def render_for_model(outputs: list[Output], *, limit: int, vision: bool, max_images: int = 4) -> ModelView:
    """Flatten nbformat outputs to text for the model, in order, keeping stdout, stderr, results and errors.

    With ``vision``, the first ``max_images`` images go with it, downscaled (``images.py``); the others, and every
    image without vision, are a note with their size."""
    from .images import describe, downscaled

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
                encoded = _as_text(data[image]).replace("\n", "")
                if vision and len(images) < max_images:
                    images.append(downscaled(image, encoded))
                    parts.append(f"[image {len(images)}: {describe(image, encoded)}, attached below]")
                elif vision:
                    parts.append(
                        f"[an image ({describe(image, encoded)}) was displayed; not attached: at most "
                        f"{max_images} per step]"
                    )
                else:
                    parts.append(f"[an image ({describe(image, encoded)}) was shown to the user; you cannot see it]")
            elif "image/svg+xml" in data:
                parts.append("[an SVG image was shown to the user; it is not sent to you]")
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


@dataclass
class OutputList:
    """A step's outputs as a notebook shows them while they arrive: the one definition of output settling.

    ``clear_output`` empties the list (with ``wait=True``, only when the next output comes, as JupyterLab does)
    and consecutive streams of the same name merge. The executor, the engine and ``runstate`` all use it; the lab
    extension's ``outputs.ts`` is its twin.
    """

    items: list[Output] = field(default_factory=list)
    clear_pending: bool = False

    @classmethod
    def of(cls, outputs: list[Output]) -> OutputList:
        folded = cls()
        for output in outputs:
            folded.add(output)
        return folded

    def add(self, output: Output) -> None:
        if output.get("output_type") == "clear_output":
            if output.get("wait"):
                self.clear_pending = True
            else:
                self.items = []
                self.clear_pending = False
            return
        if self.clear_pending:
            self.items = []
            self.clear_pending = False
        last = self.items[-1] if self.items else None
        if (
            last is not None
            and output.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and last.get("name") == output.get("name")
        ):
            self.items[-1] = {**last, "text": _as_text(last.get("text", "")) + _as_text(output.get("text", ""))}
        else:
            self.items.append(dict(output))


def settle(outputs: list[Output]) -> list[Output]:
    """The outputs a notebook keeps of ``outputs`` (e.g. a step's live ones when it ended early)."""
    return OutputList.of(outputs).items
