"""How kernel outputs are shaped: for the notebook (settled, merged) and for the model (text, cut, images)."""

from __future__ import annotations

from jupyter_codeinterp.outputs import render_for_model, settle, strip_ansi, truncate


def stream(text: str, name: str = "stdout") -> dict[str, str]:
    return {"output_type": "stream", "name": name, "text": text}


def test_live_outputs_of_an_interrupted_step_are_settled_like_a_notebook_would() -> None:
    live = [
        stream("0\n"),
        stream("1\n"),
        {"output_type": "clear_output", "wait": False},
        stream("2\n"),
        {"output_type": "clear_output", "wait": True},
        stream("3\n"),
        stream("4\n"),
        stream("oops\n", "stderr"),
    ]
    assert settle(live) == [stream("3\n4\n"), stream("oops\n", "stderr")]


def test_truncation_keeps_head_and_tail_and_says_how_much_was_cut() -> None:
    text = "A" * 100 + "B" * 1000 + "C" * 100
    cut = truncate(text, 300)
    assert cut.startswith("A" * 100) and cut.endswith("C" * 100)
    assert "[... 900 characters truncated ...]" in cut
    assert truncate("short", 300) == "short"


def test_errors_keep_more_of_the_tail_where_the_cause_is() -> None:
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["x" * 5000 + "\nEND"]}
    view = render_for_model([error], limit=500, vision=False)
    assert view.text.startswith("ValueError: bad") and view.text.endswith("END")


def test_ansi_codes_are_stripped() -> None:
    assert strip_ansi("\x1b[0;31mValueError\x1b[0m: bad") == "ValueError: bad"


def test_rich_outputs_fall_back_to_their_best_text() -> None:
    outputs = [
        {"output_type": "execute_result", "data": {"text/html": "<b>x</b>", "text/plain": "x"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": "**md**"}, "metadata": {}},
        {"output_type": "display_data", "data": {"application/vnd.custom+json": {}}, "metadata": {}},
    ]
    view = render_for_model(outputs, limit=1000, vision=True)
    assert view.text == "x\n**md**\n[output of type application/vnd.custom+json]"
    assert view.images == []
