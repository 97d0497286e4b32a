"""The key never leaves the engine in pieces: not in live events, completed steps, or what the model is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_KEY
from tests.engine_helpers import Recorded, run_prompt
from tests.scripted_llm import answer, code

#: Any prefix or suffix of the key of 8+ characters contains one of these (see jupyter_codeinterp/redaction.py).
TELLTALES = (TEST_KEY[:8], TEST_KEY[-8:])

SPLIT_PRINTS = {
    "two flushed pieces": "print(k[:10], end='', flush=True); time.sleep(0.2); print(k[10:])",
    "two lines": "print(k[:10], flush=True); time.sleep(0.2); print(k[10:])",
    "char by char": "for c in k: print(c, end='', flush=True); time.sleep(0.01)\nprint()",
    "three short pieces": "for a in (0, 7, 14): print(k[a : a + 7], end='', flush=True); time.sleep(0.1)",
    "stdout and stderr": "print(k[:10], flush=True); print(k[10:], file=sys.stderr, flush=True)",
    "across a display": "print(k[:12], end='', flush=True); display('between'); print(k[12:])",
}


def joined_live(events: list[dict[str, Any]]) -> list[str]:
    """What a client following live can put together: each step's streamed code, each stream's live text, and
    the assistant's text, each joined across its events."""
    joined: dict[tuple[Any, ...], str] = {}
    for e in events:
        if e["type"] == "text_delta":
            joined["text",] = joined.get(("text",), "") + e["delta"]
        elif e["type"] == "step" and e.get("delta"):
            joined["code", e["step"]] = joined.get(("code", e["step"]), "") + e["delta"]
        elif e["type"] == "step" and e.get("output", {}).get("output_type") == "stream":
            key = ("stream", e["step"], e["output"]["name"])
            joined[key] = joined.get(key, "") + e["output"]["text"]
    return list(joined.values())


def assert_no_key_in(rec: Recorded, *texts: str) -> None:
    dumped = [json.dumps(rec.events), json.dumps(rec.result.steps), rec.result.answer, rec.result.reason, *texts]
    dumped.extend(joined_live(rec.events))
    for text in dumped:
        for telltale in TELLTALES:
            assert telltale not in text


@pytest.mark.parametrize("printing", SPLIT_PRINTS.values(), ids=SPLIT_PRINTS.keys())
async def test_a_key_printed_in_pieces_is_redacted_everywhere(
    llm, make_config, kernel, workdir: Path, printing
) -> None:
    (workdir / "key.txt").write_text(TEST_KEY)
    llm.script(code(f"import sys, time\nk = open('key.txt').read()\n{printing}"), answer("done"))
    rec = await run_prompt(make_config(), kernel, "print the key")

    assert rec.result.status == "completed"
    [step] = rec.result.steps
    assert step["status"] == "ok" and "[redacted]" in json.dumps(step["outputs"])
    live = [e["output"] for e in rec.of_type("step") if "output" in e]
    assert live, "outputs went out live"
    assert_no_key_in(rec, json.dumps(rec.result.messages_added), json.dumps(llm.requests[1]["messages"]))


async def test_the_model_writing_the_key_does_not_stream_it_out_but_its_code_runs_as_written(
    llm, make_config, kernel
) -> None:
    llm.script(
        code(f"k = {TEST_KEY!r}\nprint(len(k), k == open('/dev/null').read() + {TEST_KEY!r})", chunk=3),
        answer(f"Your key is {TEST_KEY}, and it is {len(TEST_KEY)} long.", chunk=3),
    )
    rec = await run_prompt(make_config(), kernel, "use the key")

    assert rec.result.steps[0]["outputs"][0]["text"] == f"{len(TEST_KEY)} True\n", "the code ran unredacted"
    assert rec.result.answer == f"Your key is [redacted], and it is {len(TEST_KEY)} long."
    assert "".join(e["delta"] for e in rec.of_type("text_delta")) == rec.result.answer
    assert_no_key_in(rec)
