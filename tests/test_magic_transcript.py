"""The fallback transcript of a ``%%interpret`` run, built from its events alone."""

from __future__ import annotations

from typing import Any

from jupyter_codeinterp.transcript import OUTPUT_CHARS, RUN_MIME_TYPE, compact, run_bundle, to_markdown, to_plain


class Events:
    """Writes a run's events the way the loop emits them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, type: str, **fields: Any) -> Events:
        self.events.append({"seq": len(self.events) + 1, "run_id": "run-1", "type": type, "time": 100.0, **fields})
        return self

    def start(self, prompt: str = "Plot it") -> Events:
        return self.add("run_started", thread_id="t", prompt=prompt, model="m")

    def step(self, n: int, stage: str, **fields: Any) -> Events:
        return self.add("step", step=n, stage=stage, **fields)

    def finished_step(self, n: int, code: str, outputs: list[dict[str, Any]], status: str = "ok") -> Events:
        self.step(n, "started").step(n, "code_delta", delta=code).step(n, "in_progress", code=code)
        return self.step(n, "interpreting").step(n, "completed", code=code, outputs=outputs, status=status, elapsed=0.5)

    def end(self, status: str = "completed", reason: str = "", steps: int = 1) -> Events:
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        return self.add("run_ended", status=status, reason=reason, answer="", usage=usage, steps=steps)


def stdout(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_the_status_line_follows_the_run_through_its_stages() -> None:
    run = Events().start()
    assert "waiting for the model…" in to_markdown(run.events)
    run.step(1, "started").step(1, "code_delta", delta="print(")
    assert "step 1: writing code…" in to_markdown(run.events)
    run.step(1, "in_progress", code="print(1)")
    assert "step 1: running…" in to_markdown(run.events)
    run.step(1, "in_progress", output=stdout("1\n"))
    assert "```text\n1\n```" in to_markdown(run.events), "live outputs show before the step completes"
    run.step(1, "completed", code="print(1)", outputs=[stdout("1\n")], status="ok", elapsed=0.1)
    assert "interpreting the result…" in to_markdown(run.events)
    run.add("text_delta", delta="It printed")
    assert "answering…" in to_markdown(run.events)
    run.end()
    markdown = to_markdown(run.events)
    assert "**Answer**\n\nIt printed" in markdown and "---\n*completed · 1 step" in markdown
    assert "⏳" not in markdown


def test_code_with_backticks_gets_a_longer_fence() -> None:
    code = 'print("""```python\nx\n```""")'
    markdown = to_markdown(Events().start().finished_step(1, code, []).end().events)
    assert f"````python\n{code}\n````" in markdown


def test_long_outputs_are_cut_in_the_middle_and_ansi_codes_removed() -> None:
    text = "HEAD" + "x" * (OUTPUT_CHARS * 2) + "TAIL\x1b[31m"
    markdown = to_markdown(Events().start().finished_step(1, "go()", [stdout(text)]).end().events)
    assert "HEAD" in markdown and "TAIL" in markdown and "characters cut" in markdown
    assert "\x1b" not in markdown and len(markdown) < OUTPUT_CHARS + 1000


def test_errors_images_and_other_rich_outputs() -> None:
    outputs = [
        {"output_type": "error", "ename": "KeyError", "evalue": "'a'", "traceback": ["\x1b[31mKeyError\x1b[0m: 'a'"]},
        {"output_type": "display_data", "data": {"image/png": "iVBO\n", "text/plain": "<Figure>"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/html": "<b>hi</b>"}, "metadata": {}},
    ]
    events = Events().start().finished_step(1, "go()", outputs, status="error").end().events
    markdown = to_markdown(events)
    assert "**KeyError**: 'a'\n```text\nKeyError: 'a'\n```" in markdown
    assert "![image/png](data:image/png;base64,iVBO)" in markdown
    assert "*[output of type text/html]*" in markdown
    plain = to_plain(events)
    assert "KeyError: 'a'" in plain and "[image/png image]" in plain and "<Figure>" not in plain


def test_a_failed_run_says_why_and_notices_are_kept() -> None:
    run = Events().start().add("notice", level="warning", message="Falling back to code blocks.")
    events = run.end("failed", "The model endpoint rejected the API key (401).", steps=0).events
    markdown = to_markdown(events)
    assert "*Falling back to code blocks.*" in markdown
    assert "failed · 0 steps · 0.0 s: The model endpoint rejected the API key (401)." in markdown
    assert "**Answer**" not in markdown


def test_the_terminal_transcript_grows_only_by_finished_parts() -> None:
    run = Events().start("add")
    run.finished_step(1, "print(2 + 2)", [stdout("4\n")]).step(2, "started").step(2, "code_delta", delta="pri")
    partial = to_plain(run.events, finished_only=True)
    assert "--- Step 1 · ok · 0.50 s ---\nprint(2 + 2)\n--- output ---\n4" in partial
    assert "Step 2" not in partial and "[" not in partial.splitlines()[-1]
    run.step(2, "completed", code="print(5)", outputs=[stdout("5\n")], status="ok", elapsed=0.1)
    run.add("text_delta", delta="Four and five.").end(steps=2)
    final = to_plain(run.events, finished_only=True)
    assert final.startswith(partial.rstrip("\n")), "what was printed stays a prefix"
    assert final.endswith("Answer:\nFour and five.\n\n[completed · 2 steps · 0.0 s]\n")


def test_the_bundle_carries_the_events_for_the_renderer_and_both_transcripts() -> None:
    events = Events().start().finished_step(1, "1 + 1", []).end().events
    bundle = run_bundle("run-1", events)
    assert bundle[RUN_MIME_TYPE] == {"version": 1, "run_id": "run-1", "events": compact(events)}
    assert bundle["text/markdown"] == to_markdown(events) and bundle["text/plain"] == to_plain(events)


def test_the_saved_bundle_keeps_a_finished_step_as_start_and_completion_and_text_as_one_piece() -> None:
    run = Events().start().step(1, "started")
    for piece in ["for i in range(3):", "\n", "    print(i)"]:
        run.step(1, "code_delta", delta=piece)
    run.step(1, "in_progress", code="for i in range(3):\n    print(i)")
    for i in range(3):
        run.step(1, "in_progress", output=stdout(f"{i}\n"))
    run.step(1, "interpreting")
    run.step(1, "completed", code="for i in range(3):\n    print(i)", outputs=[stdout("0\n1\n2\n")], status="ok")
    run.add("text_delta", delta="Counted ").add("text_delta", delta="to two.")
    run.step(2, "started").step(2, "code_delta", delta="pri")

    kept = compact(run.events)

    assert [(e["type"], e.get("stage")) for e in kept] == [
        ("run_started", None),
        ("step", "started"),
        ("step", "completed"),
        ("text_delta", None),
        ("step", "started"),
        ("step", "code_delta"),
    ], "a step still streaming keeps its pieces"
    text = kept[3]
    assert text["delta"] == "Counted to two." and text["seq"] == run.events[-3]["seq"], "one stretch, its last seq"
    assert [e["seq"] for e in kept] == sorted(e["seq"] for e in kept)
    assert to_markdown(kept) == to_markdown(run.events) and to_plain(kept) == to_plain(run.events)
    assert compact(kept) == kept, "compacting twice changes nothing"
