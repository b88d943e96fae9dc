"""Scanning: the tokens of a line for highlighting, and where a script's statements end.

This needs no parse. The tokens are coarse (number, keyword, name, operator, paren,
punctuation, command, argument, comment, error), but numbers, names and comments are
matched with the grammar's own terminals, read from the generated tables, so that the
scanner and the parser cannot disagree on them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import NamedTuple

from dezero_repl.grammar_tables import MEMO


class Chunk(NamedTuple):
    """The source text of one statement and where it begins in the script (a named tuple:
    one is made per statement, and a tuple is made fastest)."""

    text: str
    offset: int
    line: int
    column: int


def _terminal(name: str) -> str:
    """The regular expression of one of the grammar's terminals, as Lark compiled it."""
    for t in MEMO.values():
        if t.get("__type__") == "TerminalDef" and t["name"] == name:
            pattern = t["pattern"]
            assert isinstance(pattern, dict)
            return str(pattern["value"])
    raise KeyError(name)


#: The words of the grammar that are not names.
KEYWORDS = "(?:if|then|else|and|or|not|for|in)"

# Numbers, names and comments are the grammar's own terminals; the rest are coarser
# classes, for colours and for finding where statements end. Blanks are never a token.
# What one alternative matches, no other does, but for two orders that must be kept: a
# number before punctuation (`.5`), and newline and comment before error (any character).
# Otherwise the commonest come first: a token tries the alternatives in turn.
_TOKENS = (
    rf"(?P<name>{_terminal('NAME')})",
    r"(?P<operator>\*\*|//|\.\.|[<>=!]=|[-+*/@^=<>%!])",
    rf"(?P<number>{_terminal('NUMBER')})",
    r"(?P<paren>[][()])",
    r"(?P<punctuation>[,;:.])",
    rf"(?P<keyword>{KEYWORDS}(?![A-Za-z0-9_']))",
    r"(?P<newline>\n)",
    rf"(?P<comment>{_terminal('COMMENT')})",
    r"(?P<error>[^ \t\f\r])",
)


@functools.cache
def _scanner() -> re.Pattern:
    """Every token and every run of blanks, for ``lex`` (compiled when first needed: a
    script of plain lines, or ``-e``, never needs it)."""
    return re.compile("|".join((r"(?P<space>[ \t\f\r]+)", *_TOKENS)))


#: Every token with the blanks before it: half as many matches, for ``statement_tokens``.
_STATEMENT = re.compile(r"[ \t\f\r]*(?:" + "|".join(_TOKENS) + ")")
# A command: blanks, `:name`, then the raw rest of the line.
_COMMAND = re.compile(r"[ \t\f\r]*(:[A-Za-z_][A-Za-z0-9_]*!?|:)([^\n]*)")


def lex(
    text: str, position: int = 0, stop: int | None = None, depth: int = 0
) -> Iterator[tuple[str, int, int]]:
    """Yield (kind, start, end) for every token and newline; blanks are skipped.

    A `:` that starts a line outside brackets, or follows a `;` there, begins a
    command: a "command" token for `:name` and an "argument" token for the rest.
    ``position``, ``stop`` and ``depth`` let a caller scan one line of a script.
    """
    stop = len(text) if stop is None else stop
    scanner = _scanner()
    command_allowed = True
    while position < stop:
        command = _COMMAND.match(text, position, stop) if command_allowed and depth == 0 else None
        if command:
            yield "command", *command.span(1)
            raw, offset = command.group(2), command.start(2)
            if raw.strip():
                lead = len(raw) - len(raw.lstrip())
                yield "argument", offset + lead, offset + len(raw.rstrip())
            position, command_allowed = command.end(), False
            continue
        match = scanner.match(text, position, stop)
        assert match is not None  # its last alternative matches any character
        kind, start, position = str(match.lastgroup), match.start(), match.end()
        if kind == "space":
            continue
        command_allowed = kind == "newline" or (kind == "punctuation" and text[start] == ";")
        if kind == "paren":
            depth = depth + 1 if text[start] in "([" else max(depth - 1, 0)
        elif kind == "name" and text.startswith("__", start):
            kind = "error"
        yield kind, start, position


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each token, for highlighting; never raises.

    Kinds: number, name, operator, paren, punctuation, command, argument,
    comment and error.
    """
    return [token for token in lex(text) if token[0] != "newline"]


def statement_tokens(text: str) -> list[tuple[str, int, int]] | None:
    """The tokens of an ordinary statement, by the grammar's terminals where they matter
    (for ``shapes.ShapeCache``); None for commands and reserved names."""
    if "__" in text or text.lstrip(_BLANKS + "\n").startswith(":"):
        return None
    # every alternative of _STATEMENT is a group: lastgroup is never None
    return [
        (kind, m.start(kind), m.end(kind))  # type: ignore[misc, arg-type]
        for m in _STATEMENT.finditer(text)
        if (kind := m.lastgroup) not in _UNSEEN
    ]


def split_statements(source: str) -> list[Chunk]:
    """Split a script into the source text of its statements, in one pass.

    Statements end at `;` or a newline outside brackets, unless the line ends
    with an operator, `=` or `.`, which continue onto the next line. Blank
    statements and comments are dropped; a command runs to the end of its line.
    A plain line (one whole statement, nothing to track) is taken as it is; the
    others go through the tokenizer.
    """
    chunks: list[Chunk] = []
    depth, line = 0, 1
    begin = end = semicolon = None
    position = (1, 1)
    continues = False

    def flush() -> None:
        nonlocal begin
        if begin is not None:
            chunks.append(Chunk(source[begin:end], begin, *position))
        begin = None

    line_start = 0
    while line_start <= len(source):
        line_end = source.find("\n", line_start)
        line_end = len(source) if line_end == -1 else line_end
        if begin is None and depth == 0 and _plain_line(source, line_start, line_end):
            text = source[line_start:line_end]
            if text.strip(_BLANKS):
                lead = len(text) - len(text.lstrip(_BLANKS))
                chunks.append(Chunk(text.strip(_BLANKS), line_start + lead, line, lead + 1))
        else:
            for kind, start, stop in lex(source, line_start, line_end, depth):
                if kind == "comment" or kind == "argument":
                    end = stop if kind == "argument" else end
                    continue
                if kind == "command":
                    flush()
                    start = start if semicolon is None else semicolon
                elif kind == "punctuation" and depth == 0 and source[start] == ";":
                    flush()
                    semicolon = start
                    continue
                elif kind == "paren":
                    depth = depth + 1 if source[start] in "([" else max(depth - 1, 0)
                if begin is None:
                    begin, position = start, (line, start - line_start + 1)
                end, semicolon = stop, None
                continues = kind == "keyword" or (
                    source[stop - 1] in _CONTINUING and kind in ("operator", "punctuation")
                )
            if depth == 0 and not continues:
                flush()
        line, line_start, semicolon = line + 1, line_end + 1, None
    flush()
    return chunks


def plain(line: str) -> str | None:
    """A line that is one whole statement (or none), as the statement's text without its
    surrounding blanks; None for a line that needs ``split_statements``."""
    end = len(line) - 1 if line.endswith("\n") else len(line)
    if not _plain_line(line, 0, end) or "\n" in line[:end]:
        return None
    return line[:end].strip(_BLANKS)


def unfinished(text: str) -> bool:
    """Whether the next line of a script belongs to the statement that ``text`` ends with,
    as ``split_statements`` reads it: a bracket is open, or the last line ends with an
    operator, '.' or a keyword."""
    body = text.rstrip("\n")
    if "\n" not in body and _plain_line(body, 0, len(body)):
        return False
    statement, goes_on = OpenStatement(), False
    for line in text.split("\n"):
        goes_on = statement.add(line)
    return goes_on


class OpenStatement:
    """Whether a statement read line by line goes on to the next line, as ``unfinished``
    tells of its whole text, brought up to date one line at a time: a statement of many
    lines costs each line once."""

    def __init__(self) -> None:
        self.depth = 0  # brackets open
        self.continues = False  # the last token continues the statement

    def add(self, line: str) -> bool:
        """Take one more line (a line is lexed alone as in its script: only the brackets
        open before it matter); whether the statement goes on after it."""
        for kind, start, stop in lex(line, depth=self.depth):
            if kind in ("comment", "argument", "newline"):
                continue
            if kind == "paren":
                self.depth = self.depth + 1 if line[start] in "([" else max(self.depth - 1, 0)
            self.continues = kind == "keyword" or (
                line[stop - 1] in _CONTINUING and kind in ("operator", "punctuation")
            )
        return self.depth > 0 or self.continues


_UNSEEN = frozenset(("newline", "comment"))  # what a statement's tokens leave out
_BLANKS = " \t\f\r"  # what the grammar skips between tokens, newlines aside
_UNPLAIN = re.compile(r"[;#:]")
_BRACKETS = re.compile(r"[][()]")
_CONTINUING = frozenset("+-*/@^=.<>%")  # `!` ends a factorial: it continues nothing
_ENDS_IN_KEYWORD = re.compile(rf"(?<![A-Za-z0-9_']){KEYWORDS}\Z")


def _plain_line(source: str, start: int, end: int) -> bool:
    """Whether a line is complete on its own: no `;`, `#` or `:`, brackets closing in
    order, and no operator at its end (a blank line is plain too: it holds nothing)."""
    if _UNPLAIN.search(source, start, end):
        return False
    depth = 0
    for bracket in _BRACKETS.findall(source, start, end):
        depth += 1 if bracket in "([" else -1
        if depth < 0:
            return False
    if depth:
        return False
    text = source[start:end].rstrip(_BLANKS)
    return not text or (text[-1] not in _CONTINUING and not _ENDS_IN_KEYWORD.search(text))
