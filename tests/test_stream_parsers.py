"""Decoding streamed model output: code inside tool-call JSON, and ```python fences in markdown mode."""

from __future__ import annotations

import json

import pytest

from jupyter_codeinterp.llm import CodeArgStream, FenceStream, parse_code_arguments, parse_json_tool_text

CODE = 'import os\nprint("tab\\t", \'é😀\', "quote\\"")\n'


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_code_is_decoded_incrementally_whatever_the_chunking(chunk: int) -> None:
    args = json.dumps({"code": CODE})
    stream = CodeArgStream()
    pieces = [stream.feed(args[i : i + chunk]) for i in range(0, len(args), chunk)]
    assert "".join(pieces) == CODE
    assert stream.code == CODE


def test_ascii_escaped_unicode_and_surrogate_pairs_decode() -> None:
    args = json.dumps({"code": "s = 'é😀'"}, ensure_ascii=True)
    stream = CodeArgStream()
    assert "".join(stream.feed(c) for c in args) == "s = 'é😀'"


def test_arguments_not_starting_with_code_stream_nothing() -> None:
    stream = CodeArgStream()
    assert stream.feed('{"other": "x"}') == ""


TEXT = "Let me check `x`.\n```python\nprint(1)\nx = 2\n```\nDone"


@pytest.mark.parametrize("chunk", [1, 2, 5, 1000])
def test_fence_stream_splits_prose_and_first_code_block(chunk: int) -> None:
    fence = FenceStream()
    prose = code = ""
    starts = 0
    for i in range(0, len(TEXT), chunk):
        p, c, started = fence.feed(TEXT[i : i + chunk])
        prose, code, starts = prose + p, code + c, starts + started
    prose += fence.finish()
    assert prose == "Let me check `x`.\n"
    assert code == "print(1)\nx = 2"
    assert fence.code == "print(1)\nx = 2"
    assert starts == 1


def test_fence_stream_without_code_flushes_all_prose() -> None:
    fence = FenceStream()
    prose, code, _ = fence.feed("The answer is `42`")
    assert code == "" and fence.code is None
    assert prose + fence.finish() == "The answer is `42`"


def test_malformed_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_code_arguments('{"code": "print(1)')
    with pytest.raises(ValueError, match="must be a JSON object"):
        parse_code_arguments('{"source": "print(1)"}')
    assert parse_code_arguments('{"code": "1+1"}') == "1+1"


def test_json_printed_as_text_is_recognised_as_a_tool_call() -> None:
    assert parse_json_tool_text('{"name": "python", "arguments": {"code": "1+1"}}') == "1+1"
    assert parse_json_tool_text('```json\n{"code": "2+2"}\n```') == "2+2"
    assert parse_json_tool_text('{"name": "python", "arguments": "{\\"code\\": \\"3\\"}"}') == "3"
    assert parse_json_tool_text("The result is {x}") is None
    assert parse_json_tool_text('{"answer": 1}') is None
