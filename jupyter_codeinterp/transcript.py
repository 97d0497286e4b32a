"""A run's events as a readable transcript: the fallback of the ``%%interpret`` display for every frontend
that lacks our MIME renderer (Notebook 7, VS Code, nbconvert/papermill output, a terminal).

The transcript is rebuilt from the events each time (folded by ``runstate.RunState``, as every door folds them), so
a live display and a saved notebook show the same thing.

Its markdown holds what the model wrote and what its code printed, and a frontend renders it as trusted (the user
ran the cell): every such piece is made inert first (no raw HTML, no ``javascript:`` links, images only from
well-formed base64), the code and text outputs go in fences they cannot close. See docs/security.md.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

from .events import EVENTS_VERSION, Output
from .outputs import OutputList
from .runstate import RunState, StepState

#: The mimetype our labextension renders with the sidebar's step view.
RUN_MIME_TYPE = "application/vnd.codeinterp.run+json"
#: Longest text of one output in the transcript; the model got its own (configurable) cut.
OUTPUT_CHARS = 4000
_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")
#: A ``<`` that could open an HTML tag, comment or autolink in markdown.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
#: Link destinations: inline ``[text](dest`` and reference definitions ``[label]: dest``.
_INLINE_DEST = re.compile(r"(\]\(\s*)(<[^>\n]*>|[^\s)]*)")
_REF_DEST = re.compile(r"(\[(?:\\.|[^\]\\\n])+\]:[ \t]*\n?[ \t]*)(<[^>\n]*>|\S+)")  # anywhere: lists, quotes
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def answer_index(state: RunState) -> int | None:
    """The item holding the final answer: the last text, once the run completed."""
    if state.status == "completed" and state.items and state.items[-1].kind == "text":
        return len(state.items) - 1
    return None


def status_line(state: RunState) -> str:
    """Where the run is, in a few words (what a spinner would say)."""
    if state.final:
        parts = [state.status, _count(len(state.steps), "step")]
        if state.usage["total_tokens"]:
            parts.append(f"{state.usage['total_tokens']:,} tokens")
        if state.started is not None and state.ended is not None:
            parts.append(f"{state.ended - state.started:.1f} s")
        line = " · ".join(parts)
        if state.status != "completed" and state.reason:
            line += f": {state.reason}"
        return line
    open_steps = [s for s in state.steps.values() if not s.done]
    if open_steps:
        step = open_steps[-1]
        doing = {"in_progress": "running", "interpreting": "interpreting the result"}.get(step.stage, "writing code")
        return f"step {step.step}: {doing}…"
    if state.items and state.items[-1].kind == "text":
        return "answering…"
    if state.steps:
        return "interpreting the result…"
    return "waiting for the model…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cut(text: str) -> str:
    text = _ANSI.sub("", text)
    if len(text) <= OUTPUT_CHARS:
        return text
    half = OUTPUT_CHARS // 2
    return f"{text[:half]}\n[... {len(text) - OUTPUT_CHARS} characters cut ...]\n{text[-half:]}"


def _safe_dest(match: re.Match[str]) -> str:
    """Keep a link destination unless it names a scheme other than http(s)/mailto, as a browser reads it."""
    dest = match.group(2)
    url = html.unescape(dest.strip("<>"))
    url = re.sub(r"\\(?=[!-/:-@\[-`{-~])", "", url)  # markdown's backslash escapes
    url = re.sub(r"[\x00-\x20\x7f-\x9f]", "", url)  # what URL parsers drop
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", url)
    if scheme and scheme.group(1).lower() not in _SAFE_SCHEMES:
        dest = "#"
    return match.group(1) + dest


def _inert(text: str) -> str:
    """Untrusted text (the model's, an output's) as markdown that renders no HTML and links nowhere unsafe.

    A zero-width space after ``<`` stops a tag or autolink from opening and looks the same, in code spans too."""
    text = _REF_DEST.sub(_safe_dest, _INLINE_DEST.sub(_safe_dest, text))
    return _TAG_OPEN.sub("<\u200b", text)


def _fence(body: str, lang: str = "") -> str:
    """A fenced block that survives backticks inside ``body``."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body.rstrip(chr(10))}\n{ticks}"


def _step_title(step: StepState) -> str:
    if not step.done:
        doing = {"in_progress": "running…", "interpreting": "interpreting…"}.get(step.stage, "writing code…")
        return f"Step {step.step} · {doing}"
    title = f"Step {step.step} · {step.status}"
    if step.elapsed:
        title += f" · {step.elapsed:.2f} s"
    return title


# -- markdown ---------------------------------------------------------------------------------------


def _output_markdown(out: Output) -> str | None:
    kind = out.get("output_type")
    if kind == "stream":
        text = _cut(_text(out.get("text", "")))
        return _fence(text, "text") if out.get("name") != "stderr" else "stderr:\n" + _fence(text, "text")
    if kind == "error":
        head = f"**{_inert(str(out.get('ename', 'Error')))}**: {_inert(_ANSI.sub('', str(out.get('evalue', ''))))}"
        tb = _cut("\n".join(_ANSI.sub("", line) for line in out.get("traceback", [])))
        return head + ("\n" + _fence(tb, "text") if tb.strip() else "")
    if kind in ("execute_result", "display_data"):
        data = out.get("data", {})
        image = next((m for m in _IMAGES if m in data), None)
        if image is not None:
            b64 = re.sub(r"\s", "", _text(data[image]))
            if _BASE64.fullmatch(b64):
                return f"![{image}](data:{image};base64,{b64})"
            return f"*[{image} image]*"
        if "image/svg+xml" in data:
            svg = base64.b64encode(_text(data["image/svg+xml"]).encode()).decode()
            return f"![image/svg+xml](data:image/svg+xml;base64,{svg})"
        if "text/plain" in data:
            return _fence(_cut(_text(data["text/plain"])), "text")
        if data:
            return f"*[output of type {_inert(', '.join(sorted(data)))}]*"
    return None


def to_markdown(events: list[dict[str, Any]]) -> str:
    state = RunState.of(events)
    parts = ["**Code Interpreter**" + (f" · `{_inert(state.model)}`" if state.model else "")]
    if state.prompt:
        parts.append("\n".join("> " + _inert(line) for line in state.prompt.splitlines() or [""]))
    answer_at = answer_index(state)
    for i, item in enumerate(state.items):
        if item.kind == "text":
            if item.text.strip():
                parts.append(("**Answer**\n\n" if i == answer_at else "") + _inert(item.text.strip()))
        elif item.kind == "notice":
            parts.append(f"*{_inert(item.text)}*")
        else:
            step = state.steps[item.step]
            parts.append(f"**{_step_title(step)}**")
            if step.code:
                parts.append(_fence(step.code, "python"))
            parts.extend(md for md in (_output_markdown(o) for o in step.outputs.items) if md)
            if step.message:
                parts.append(f"*{_inert(step.message)}*")
    line = _inert(status_line(state))
    parts.append(f"---\n*{line}*" if state.final else f"*⏳ {line}*")
    return "\n\n".join(parts) + "\n"


# -- plain text -------------------------------------------------------------------------------------


def _output_plain(out: Output) -> str | None:
    kind = out.get("output_type")
    if kind == "stream":
        text = _cut(_text(out.get("text", ""))).rstrip("\n")
        return text if out.get("name") != "stderr" else "[stderr]\n" + text
    if kind == "error":
        tb = "\n".join(_ANSI.sub("", line) for line in out.get("traceback", []))
        return _cut(tb) if tb.strip() else f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
    if kind in ("execute_result", "display_data"):
        data = out.get("data", {})
        image = next((m for m in (*_IMAGES, "image/svg+xml") if m in data), None)
        if image is not None:
            return f"[{image} image]"
        if "text/plain" in data:
            return _cut(_text(data["text/plain"])).rstrip("\n")
        if data:
            return f"[output of type {', '.join(sorted(data))}]"
    return None


def to_plain(events: list[dict[str, Any]], *, finished_only: bool = False) -> str:
    """Plain text for terminals. ``finished_only`` leaves out what may still change (open steps, streaming text,
    the status line), so a terminal can print the transcript piece by piece as parts finish."""
    state = RunState.of(events)
    parts = [f"[Code Interpreter{' · ' + state.model if state.model else ''}] {state.prompt.strip()}"]
    answer_at = answer_index(state)
    last = len(state.items) - 1
    for i, item in enumerate(state.items):
        if item.kind == "text":
            if finished_only and i == last and not state.final:
                break
            if item.text.strip():
                parts.append(("Answer:\n" if i == answer_at else "") + item.text.strip())
        elif item.kind == "notice":
            parts.append(f"({item.text})")
        else:
            step = state.steps[item.step]
            if finished_only and not step.done:
                break
            lines = [f"--- {_step_title(step)} ---", step.code.rstrip("\n")]
            rendered = [p for p in (_output_plain(o) for o in step.outputs.items) if p]
            if rendered:
                lines.append("--- output ---")
                lines.extend(rendered)
            if step.message:
                lines.append(f"({step.message})")
            parts.append("\n".join(lines))
    if state.final or not finished_only:
        parts.append(f"[{status_line(state)}]")
    return "\n\n".join(parts) + "\n"


#: Stages of a step that its ``completed`` event makes redundant: it carries the final code and every output.
_FOLDED_STAGES = frozenset({"code_delta", "in_progress", "interpreting"})


def compact(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events as the notebook keeps them: a finished step without its streamed pieces (its ``completed`` event
    carries the final code and outputs), and each stretch of assistant text as one ``text_delta`` (with the seq of
    its last piece). Models stream a token at a time, so this halves a saved run or better; replaying the result
    from the start gives the same view, which is how our renderer reads each bundle. A ``completed`` event that left
    its outputs to the live ones (they fold to the same) gets them here, folded, since the live ones go."""
    finished = {e["step"] for e in events if e.get("type") == "step" and e.get("stage") == "completed"}
    live = {n: OutputList() for n in finished}
    kept: list[dict[str, Any]] = []
    for e in events:
        kind = e.get("type")
        if kind == "step" and e.get("step") in finished and e.get("stage") in _FOLDED_STAGES:
            if e.get("output") is not None:
                live[e["step"]].add(e["output"])
            continue
        if kind == "step" and e.get("stage") == "completed" and "outputs" not in e and e.get("step") in live:
            e = {**e, "outputs": live[e["step"]].items}
        if kind == "text_delta" and kept and kept[-1].get("type") == "text_delta":
            last = kept[-1]
            kept[-1] = {
                **last,
                "seq": e["seq"],
                "time": e.get("time", last.get("time")),
                "delta": last["delta"] + e["delta"],
            }
            continue
        kept.append(e)
    return kept


def run_bundle(run_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The display data of a run: our renderer's mimetype (the compacted events), with the transcript as fallback."""
    return {
        RUN_MIME_TYPE: {"version": EVENTS_VERSION, "run_id": run_id, "events": compact(events)},
        "text/markdown": to_markdown(events),
        "text/plain": to_plain(events),
    }
