"""Errors the calculator reports to its user, and how they are shown.

Every error has a one-line message and, where it concerns a piece of source text, the span
of that text. ``render`` turns one into the familiar three lines: where, the source line,
and a caret under the offending span.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class ErrorKind(str, Enum):
    """What kind of error it is: its name in JSON output (``"type": "NameError"``)."""

    Error = "Error"
    SyntaxError = "SyntaxError"
    NameError = "NameError"
    TypeError = "TypeError"
    ValueError = "ValueError"
    IndexError = "IndexError"
    AxisError = "AxisError"
    RecursionError = "RecursionError"
    MemoryError = "MemoryError"
    ResourceError = "ResourceError"
    Timeout = "Timeout"
    ConvergenceError = "ConvergenceError"
    PrecisionError = "PrecisionError"
    CommandError = "CommandError"
    HelpError = "HelpError"
    FileError = "FileError"
    LoadError = "LoadError"
    PlotError = "PlotError"
    GraphvizError = "GraphvizError"
    InternalError = "InternalError"

    def __str__(self) -> str:
        return self.value


class CalcError(Exception):
    """An error in the user's input; ``kind`` names it in JSON output (e.g. "NameError")."""

    def __init__(
        self,
        message: str,
        start: int | None = None,
        end: int | None = None,
        kind: ErrorKind | str = ErrorKind.Error,
    ) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end
        self.kind = ErrorKind(kind)  # a string is checked against the kinds

    def at(self, start: int, end: int) -> CalcError:
        """Give the error a span if it has none yet."""
        if self.start is None:
            self.start, self.end = start, end
        return self


class Timeout(CalcError):
    """An evaluation passed its deadline (the preview's time budget)."""

    def __init__(self) -> None:
        super().__init__("evaluation took too long", kind=ErrorKind.Timeout)


class AlreadyReported(CalcError):
    """A failure whose details were already shown (e.g. an error inside a :load-ed file)."""


def one_line(message: str) -> str:
    """A message as one printable line: a newline or an escape in a file name or a command's
    argument is shown escaped (``\\n``, ``\\x1b``), never written to the terminal as is."""
    if message.isprintable():
        return message
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "") -> str:
    """A " (did you mean 'x'?)" hint, or "" when nothing is close: a name that differs only
    in case, else one at most one typing slip away (a letter missing, extra, wrong or two
    swapped) for words of three or four letters, two for longer ones, none for shorter;
    among equally close names, the most similar."""
    import difflib  # only errors need it: keep it out of start-up

    names, lowered = set(candidates), word.lower()  # read once: they may be an iterator
    same = [c for c in names if c.lower() == lowered and c != word]
    if same:  # only the case differs: Sin, PI, X
        return f" (did you mean '{prefix}{min(same)}'?)"
    limit = 0 if len(word) <= 2 else 1 if len(word) <= 4 else 2
    close = [
        (slips, -difflib.SequenceMatcher(None, word, c).ratio(), c)
        for c in names
        if abs(len(c) - len(word)) <= limit  # three tests, the cheapest first: a name
        and _letters_apart(word, c) <= limit  # that fails one is too many slips away
        and (slips := _slips(word, c, limit)) <= limit
    ]
    return f" (did you mean '{prefix}{min(close)[2]}'?)" if close else ""


def _letters_apart(a: str, b: str) -> int:
    """No more than the slips between a and b, and counted cheaply: the letters of the longer
    that the other lacks (a slip adds, drops or changes one letter; a swap, none). It tells
    most names apart without ``_slips``."""
    common = sum(min(a.count(ch), b.count(ch)) for ch in set(a))
    return max(len(a), len(b)) - common


def _slips(a: str, b: str, most: int) -> int:
    """The edit distance of a and b, a swap of neighbours counting as one edit; past
    ``most``, only some number past it. The count stops once two rows of the table are all
    past ``most``: a later entry comes from the row above, or by a swap from the one above
    that, plus 0 or 1."""
    previous2: list[int] = []  # the row before previous, read from the second row on
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        if min(row) > most and min(previous) > most:
            return most + 1
        previous2, previous = previous, row
    return previous[len(b)]


def line_column(source: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    known, at, line, line_start = _LAST_PLACE
    if known is not source or at > offset:  # errors come in order: go on from the last one
        at, line, line_start = 0, 1, 0
    line += source.count("\n", at, offset)
    line_start = max(line_start, source.rfind("\n", at, offset) + 1)
    _LAST_PLACE[:] = [source, offset, line, line_start]
    return line, offset - line_start + 1


#: The source, offset, line and line start of the last place found: with it, a thousand
#: errors in a long script cost a thousand short scans, not a thousand scans from the top.
_LAST_PLACE: list = [None, 0, 1, 0]


#: The most characters of a source line shown under an error.
SHOWN_WIDTH = 160


def render(source_name: str, source: str, error: CalcError, offset: int = 0) -> str:
    """The error as a person reads it: ``name:LINE:COL: error: msg``, the line, a caret.

    ``offset`` is where the statement that failed begins within ``source``; the error's
    span is relative to that statement.
    """
    source_name = one_line(source_name)  # a file's name may hold a newline or an escape
    if error.start is None:
        return f"{source_name}: error: {error.message}"
    start = min(offset + max(error.start, 0), len(source))
    end = min(offset + max(error.end or 0, error.start), len(source))
    line, column = line_column(source, start)
    line_start = start - (column - 1)
    # A long line is shown as a window around the error, and only the window is looked at,
    # so that each error costs the same however long its line.
    line_end = source.find("\n", start, start + SHOWN_WIDTH)
    line_end = min(len(source), start + SHOWN_WIDTH) if line_end == -1 else line_end
    shown_start = max(line_start, min(start - SHOWN_WIDTH // 4, line_end - SHOWN_WIDTH))
    shown_end = min(line_end, shown_start + SHOWN_WIDTH)
    head = "…" if shown_start > line_start else ""
    tail = "…" if shown_end < len(source) and source[shown_end] != "\n" else ""
    width = max(1, min(end, shown_end) - start)
    return (
        f"{source_name}:{line}:{column}: error: {error.message}\n"
        f"  {head}{_printable(source[shown_start:shown_end])}{tail}\n"
        f"  {' ' * (len(head) + start - shown_start)}{'^' + '~' * (width - 1)}"
    )


def _printable(line: str) -> str:
    """Replace control characters so that a source line cannot disturb the terminal: a tab
    by a blank, others by "\ufffd"; the carriage return of a line that ends in CR LF goes."""
    if line.isprintable():
        return line
    line = line[:-1] if line.endswith("\r") else line
    return "".join(ch if ch.isprintable() else " " if ch == "\t" else "\ufffd" for ch in line)
