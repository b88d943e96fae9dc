"""Errors the calculator reports to its user, and how they are shown.

Every error has a one-line message and, where it concerns a piece of source text, the span
of that text. ``render`` turns one into the familiar three lines: where, the source line,
and a caret under the offending span.
"""

from __future__ import annotations

from collections.abc import Iterable


class CalcError(Exception):
    """An error in the user's input; ``kind`` names it in JSON output (e.g. "NameError")."""

    def __init__(
        self, message: str, start: int | None = None, end: int | None = None, kind: str = "Error"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end
        self.kind = kind

    def at(self, start: int, end: int) -> CalcError:
        """Give the error a span if it has none yet."""
        if self.start is None:
            self.start, self.end = start, end
        return self


def did_you_mean(word: str, candidates: Iterable[str], prefix: str = "") -> str:
    """A " (did you mean 'x'?)" hint, or "" when nothing is close."""
    import difflib  # only errors need it: keep it out of start-up

    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def line_column(source: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def render(source_name: str, source: str, error: CalcError, offset: int = 0) -> str:
    """The error as a person reads it: ``name:LINE:COL: error: msg``, the line, a caret.

    ``offset`` is where the statement that failed begins within ``source``; the error's
    span is relative to that statement.
    """
    if error.start is None:
        return f"{source_name}: error: {error.message}"
    start = min(offset + max(error.start, 0), len(source))
    end = min(offset + max(error.end or 0, error.start), len(source))
    line, column = line_column(source, start)
    line_start = start - (column - 1)
    line_end = source.find("\n", start)
    line_end = len(source) if line_end == -1 else line_end
    width = max(1, min(end, line_end) - start)
    return (
        f"{source_name}:{line}:{column}: error: {error.message}\n"
        f"  {_printable(source[line_start:line_end])}\n"
        f"  {' ' * (column - 1)}{'^' + '~' * (width - 1)}"
    )


def _printable(line: str) -> str:
    """Replace control characters so that a source line cannot disturb the terminal."""
    return "".join(ch if ch.isprintable() else " " if ch == "\t" else "\ufffd" for ch in line)
