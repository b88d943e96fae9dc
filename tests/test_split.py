"""Splitting scripts into statements: the plain-line fast path agrees with the tokenizer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dezero_repl.scan import split_statements

PIECES = ["x", "1", " ", "\t", "(", ")", "[", "]", ";", "\n", "+", "*", "=", ".", "f'"]
PIECES += ["__a", "$", "\u00a0", "\r", "2.5", ",", "sin(", "**"]


def split(source: str) -> list[tuple[str, int, int]]:
    return [(c.text, c.line, c.column) for c in split_statements(source)]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_fast_path_agrees_with_tokenizer(source):
    # A comment at the end of every line forces each line through the tokenizer
    # without changing any statement, line or column.
    commented = "\n".join(line + " #" for line in source.split("\n"))
    through_tokenizer = [(t.replace(" #\n", "\n"), n, c) for t, n, c in split(commented)]
    assert split(source) == through_tokenizer


def test_plain_lines_keep_their_positions():
    chunks = split_statements("x = 1\n  y = x + 2  \n\nsin(y)\n")
    assert [(c.text, c.offset, c.line, c.column) for c in chunks] == [
        ("x = 1", 0, 1, 1),
        ("y = x + 2", 8, 2, 3),
        ("sin(y)", 21, 4, 1),
    ]


def test_a_line_ending_in_an_operator_continues():
    assert split("x = 1 +\n2\ny = (\n3)") == [("x = 1 +\n2", 1, 1), ("y = (\n3)", 3, 1)]
