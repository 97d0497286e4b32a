"""Redaction: the key, its pieces and key-like tokens never go out, however a stream is cut into pieces."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_codeinterp.redaction import (
    FRAGMENT_CHARS,
    REDACTED,
    OutputRedactor,
    StreamRedactor,
    redact,
    scrub,
)

KEY = "sk-test-SECRET-4f9a1c"
#: What a split key leaves: any of its prefixes or suffixes of FRAGMENT_CHARS or more contains one of these.
TELLTALES = (KEY[:FRAGMENT_CHARS], KEY[-FRAGMENT_CHARS:])
#: Key-shaped tokens of real providers (made up, of the right shapes).
LOOKALIKES = [
    "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7zB9cD1fG3hJ5kL7nP9rS1uW3yA5cE7gI9kM1oQ3_sU5wY7-aC9eG1iK3mO5qS7uW9yB1",
    "sk-ant-api03-" + "xY7zQ1wE3rT5yU7iO9pA1sD3fG5hJ7kL9zX1cV3bN5mQ7wE9rT1yU3iO5pA7sD9f-G1hJ3kL5zX7cV9bN1mQ3wE5rT7yAA",
    "sk-or-v1-" + "0123456789abcdef" * 4,
    "sk-" + "T3BlbkFJ" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0",
    "gsk_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4",
    "hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7",
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "github_pat_" + "11ABCDEFG0" + "a1B2c3D4e5F6g7H8i9J0_k1L2m3N4o5P6q7R8s9T0u1V2w3X4",
    "xoxb-" + "123456789012-1234567890123-a1B2c3D4e5F6g7H8i9J0k1L2",
]

noise = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def stream(pieces: list[str], secret: str | None = KEY) -> tuple[list[str], str]:
    """Feed pieces through a StreamRedactor: (what went out after each piece, and at the end)."""
    redactor = StreamRedactor(secret)
    shown = [redactor.feed(p) for p in pieces]
    return shown, "".join(shown) + redactor.flush()


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


# -- the key, whole and in pieces -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(before=noise, between=noise, after=noise, cuts=st.lists(st.integers(0, 200), max_size=12))
def test_no_chunking_lets_the_key_or_a_piece_of_it_out(before: str, between: str, after: str, cuts: list[int]) -> None:
    text = before + KEY + between + KEY + after
    _, total = stream(chunked(text, cuts))
    for telltale in TELLTALES:
        assert telltale not in total
    # Chunking changes nothing: the stream comes out as the whole text redacted at once.
    assert total == redact(text, KEY) == before + REDACTED + between + REDACTED + after


@settings(max_examples=200, deadline=None)
@given(token=st.sampled_from(LOOKALIKES), before=noise, cuts=st.lists(st.integers(0, 300), max_size=12))
def test_no_chunking_lets_a_key_like_token_out(token: str, before: str, cuts: list[int]) -> None:
    text = f"{before} {token}\nmore output\n"
    _, total = stream(chunked(text, cuts), secret=None)
    assert token[-12:] not in total and token[5:17] not in total
    assert total == f"{before} {REDACTED}\nmore output\n"


def test_the_key_printed_in_two_flushed_pieces_goes_out_once_redacted() -> None:
    shown, total = stream([KEY[:10], KEY[10:] + "\n"])
    assert shown == ["", REDACTED + "\n"], "the first half is held back until the second shows it is the key"
    assert total == REDACTED + "\n"


def test_halves_on_separate_lines_are_each_redacted() -> None:
    """A prefix or suffix of the key of 8+ characters is redacted on its own: whichever way the key is split in
    two, at least the longer half is, and what may show is under 8 characters (here the 7-char ``sk-test``)."""
    for split in range(1, len(KEY)):
        text = f"{KEY[:split]}\n{KEY[split:]}\n"
        shown = redact(text, KEY)
        assert KEY[:FRAGMENT_CHARS] not in shown and KEY[-FRAGMENT_CHARS:] not in shown
        head, tail = shown.split("\n")[:2]
        assert head == REDACTED or len(head) < FRAGMENT_CHARS
        assert tail == REDACTED or len(tail) < FRAGMENT_CHARS


def test_a_held_tail_that_turns_out_not_to_be_the_key_goes_out_with_the_next_piece_or_at_the_end() -> None:
    shown, total = stream(["result: s", "k-tes", "ting done\n", "last word: sk-te"])
    assert shown == ["result: ", "", "sk-testing done\n", "last word: "]
    assert total == "result: sk-testing done\nlast word: sk-te"


def test_short_keys_are_not_secrets() -> None:
    assert redact("api key ollama", "ollama") == "api key ollama"
    assert stream(["oll", "ama"], secret="ollama")[1] == "ollama"


# -- what is not a key stays as it is ----------------------------------------------------------------------


def test_ordinary_data_is_untouched() -> None:
    ordinary = [
        "task-force risk-free desk-top sk-learn sk-learn-pipeline-tutorial-2024",
        "sha256 " + hashlib.sha256(b"x").hexdigest(),
        "md5 " + hashlib.md5(b"x").hexdigest() + " uuid " + str(uuid.UUID(int=12345678901234567890)),
        "azure-style 32 hex: 0123456789abcdef0123456789abcdef",
        "sk-" + "abcdefghijklmnopqrstuvwxyz",  # long but no digit: a word, not a key
        "my_variable_name_that_is_long hf_short ghp_short",
    ]
    for text in ordinary:
        assert redact(text, KEY) == text
        assert stream([text[:5], text[5:]])[1] == text


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=100, max_size=3000))
def test_base64_image_data_is_never_touched(data: bytes) -> None:
    image = base64.b64encode(data).decode()
    output = {"output_type": "display_data", "data": {"image/png": image}, "metadata": {}}
    assert scrub(output, KEY) == output


def test_every_lookalike_is_redacted_in_place() -> None:
    for token in LOOKALIKES:
        assert redact(f"key={token}; next", None) == f"key={REDACTED}; next"
        assert redact(f'"{token}"', None) == f'"{REDACTED}"'


# -- structures and outputs -----------------------------------------------------------------------------


def test_scrub_redacts_every_string_and_returns_clean_values_unchanged() -> None:
    event = {"type": "step", "outputs": [{"text": f"{KEY[:10]}\n{KEY[10:]}"}], KEY: [LOOKALIKES[0]]}
    assert scrub(event, KEY) == {"type": "step", "outputs": [{"text": f"{REDACTED}\n{REDACTED}"}], REDACTED: [REDACTED]}
    clean = {"type": "text_delta", "delta": "nothing to see"}
    assert scrub(clean, KEY) is clean


def test_output_redactor_joins_each_stream_and_keeps_the_order_of_other_outputs() -> None:
    outputs = OutputRedactor(KEY)
    out = lambda name, text: {"output_type": "stream", "name": name, "text": text}  # noqa: E731
    shown = [
        *outputs.feed(out("stdout", "key: " + KEY[:10])),
        *outputs.feed(out("stderr", "warning\n")),
        *outputs.feed(out("stdout", KEY[10:] + "\n")),
        *outputs.feed(out("stdout", "then " + KEY[:6])),
        *outputs.feed({"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}}),
        *outputs.feed(out("stdout", KEY[6:])),
        *outputs.flush(),
    ]
    assert shown == [
        out("stdout", "key: "),
        out("stderr", "warning\n"),
        out("stdout", REDACTED + "\n"),
        out("stdout", "then "),
        out("stdout", KEY[:6]),  # held back until the display: 6 characters are not a secret
        {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}},
        out("stdout", REDACTED),  # the 15-char suffix, on its own
    ]


def test_redacting_a_large_output_is_cheap_enough_to_run_on_every_piece() -> None:
    """Not a timing assertion: the work is a few substring searches per piece, whatever the text."""
    text = os.urandom(200_000).hex()
    redactor = StreamRedactor(KEY)
    assert "".join(redactor.feed(text[i : i + 4096]) for i in range(0, len(text), 4096)) + redactor.flush() == text
